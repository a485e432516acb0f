"""gunicorn in production: `gunicorn -c gunicorn.conf.py "petition:create_app()"`.

Each setting can be changed through the environment variable named beside it.
"""

import multiprocessing
import os

# The app refuses to start without SECRET_KEY and SERVER_NAME when this is set.
os.environ.setdefault("PETITION_ENV", "production")

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# gunicorn 27's control socket sits at one fixed path per user: several servers on one
# machine would take each other's. Off unless asked for, at a path of one's own.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
# Recycle workers now and then, with jitter so they do not all restart together.
max_requests = 5000
max_requests_jitter = 500

# Requests: no form here needs a long line or many headers.
limit_request_line = 8190
limit_request_fields = 60
limit_request_field_size = 8190

accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
# Redacts every line: no mailed link, address or client address (petition/logs.py).
logger_class = "petition.logs.GunicornLogger"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
