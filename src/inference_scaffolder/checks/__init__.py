"""``validate``: everything checked about a service repository, offline, with real tools.

:mod:`.validate` orchestrates; :mod:`.manifests` (schemas), :mod:`.routing`, :mod:`.gitops`
and :mod:`.capacity` each check one concern. Checks read descriptions from
:mod:`inference_scaffolder.service`; they never generate.
"""
