"""Scaffold GPU inference services (TGI/vLLM) and keep the platform's schema repository in step."""

__version__ = "0.1.0"
TEMPLATE_VERSION = __version__
