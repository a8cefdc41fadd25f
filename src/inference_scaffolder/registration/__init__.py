"""``register``: a service asks to join the platform's routers through the platform's own
configuration, in one pull request against the routing repository.

The platform owns its routers: the LiteLLM proxy of the ``inference-infrastructure`` release
(its ``litellm-proxy.litellm.modelList``) and the Envoy AI Gateway routes of the ``models``
release (``backends`` and ``models``). A service never renders objects for them; it proposes
its entries in their values files, per environment (:mod:`.entries`), checked against the
shapes those charts document (:mod:`.validation`), with the same publisher and
compare-and-swap discipline as ``schema-pr`` (:mod:`.pull_request`).
"""
