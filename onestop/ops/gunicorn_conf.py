"""gunicorn settings for the product (``gunicorn -c python:onestop.ops.gunicorn_conf``).

The access log goes to stdout with personal data scrubbed (`ScrubbingLogger`); bind,
workers and the rest come from the command line or ``GUNICORN_CMD_ARGS``.
"""

logger_class = "onestop.ops.gunicorn_logging.ScrubbingLogger"
accesslog = "-"

# An idle keep-alive connection is closed after this many seconds. gunicorn's 2 s is
# shorter than the pause between a person's requests (3–7 s in `make bench-users`): the
# server then closes connections just as a client sends its next request on it, and the
# client sees the connection dropped without an answer (3 of 20,315 requests in session
# 21's 1,000-users run). Behind a load balancer this must exceed the balancer's own idle
# time for the same reason. Idle connections wait in gthread's poller, not in a thread.
keepalive = 10
