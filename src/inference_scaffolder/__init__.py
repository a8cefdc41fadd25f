"""Scaffold GPU inference services (TGI/vLLM) and keep the platform's schema repository in step."""

__version__ = "0.2.0"
TEMPLATE_VERSION = __version__
