"""The HTTP layer the api and fileproxy share (never loaded by a dispatcher).

`ocs` (the envelope), `auth` and `ratelimit` (who is asking, how often), `params` (request
parameters), `security` (access rules and the OCS middleware), `context` (the per-process
Services), `routes` (the route helper), `metrics` (HTTP metrics and the probe routes).
"""
