"""After ``new``: promote an identity forward, read an environment's history, and update a
repository to a newer template."""
