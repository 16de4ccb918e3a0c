"""`onestop simulate`: department systems that work their queues through the public
integration API over HTTP and receive the platform's signed webhooks — for demos and for
load and failure tests. Nothing here imports Django or the platform's internals (checked
by import-linter): a simulated department knows only what a real one would, the API and
the webhook contract."""
