"""``schema-pr``: the pull request that adds the ML_INFERENCE_LOAD workload type to the
platform-schemas-types repository (chart, values schema, TypeScript interface, unions,
catalog entry)."""
