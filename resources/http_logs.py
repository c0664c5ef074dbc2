"""What httpx and httpcore may log about an answer: never the words a server chose.

httpx logs a line per request at INFO with the answer's reason phrase, and httpcore, at DEBUG,
the status line and headers it read (`return_value=…`) and the errors it met. A broken or hostile
server may quote a credential back there (the bearer token, the client secret of a token
request), and a log goes wherever its handlers send it: a terminal, a file, Dagster's captured
logs. `keep_answers_out_of_logs` puts a filter on those loggers that keeps the method, the URL
(the client's own, or a link it checked) and the status, and drops the rest. A filter, not a
level: whoever turns the loggers' levels up to look into a problem gets the lines without the
server's words.
"""

from __future__ import annotations

import logging

#: The loggers of httpx and of the httpcore parts it uses.
LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
_HTTPX_REQUEST = 'HTTP Request: %s %s "%s %d %s"'


class AnswerWordsFilter(logging.Filter):
    """Rewrites httpx's request line without the reason phrase, and httpcore's trace records
    without what they returned or raised (the event's name is kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == _HTTPX_REQUEST and isinstance(record.args, tuple):
            record.msg = 'HTTP Request: %s %s "%s %d"'
            record.args = record.args[:4]
        elif record.name.startswith("httpcore."):
            message = record.getMessage()
            for detail in (" return_value=", " exception="):
                message = message.partition(detail)[0]
            record.msg, record.args = message, ()
        return True


_FILTER = AnswerWordsFilter()


def keep_answers_out_of_logs() -> None:
    """Put the filter on httpx's and httpcore's loggers (once, however often it is called)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
