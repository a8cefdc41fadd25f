"""What a service repository holds: where each file lives and what it says.

Pure descriptions and writers, computed from validated answers or read from a repository.
Nothing here checks a repository (that is :mod:`inference_scaffolder.checks`) or runs the
template (that is :mod:`inference_scaffolder.generation`).
"""
