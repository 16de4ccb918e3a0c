"""gunicorn settings for the product (``gunicorn -c python:onestop.ops.gunicorn_conf``).

The access log goes to stdout with personal data scrubbed (`ScrubbingLogger`); bind,
workers and the rest come from the command line or ``GUNICORN_CMD_ARGS``.
"""

logger_class = "onestop.ops.gunicorn_logging.ScrubbingLogger"
accesslog = "-"
