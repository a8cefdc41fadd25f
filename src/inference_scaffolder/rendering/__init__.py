"""Rendering charts and Kustomizations with the real tools (helm, kubectl); no checking here."""
