"""A log filter that masks phone numbers (and other long digit runs) in every log line we write."""

from __future__ import annotations

import logging
import re

from ivr.phone import mask_phone

#: A phone number as Twilio errors, SIP addresses or tracebacks may carry it: 8+ digits, maybe
#: grouped by spaces (not dashes: dates stay); not inside a word (CallSids and hashes stay readable).
NUMBER = re.compile(r"(?<![\w+])\+?\d(?:[ /]?\d){7,}(?!\w)")


def mask_numbers(text: str) -> str:
    """``text`` with every phone-number-like run masked (``+49151*****678``)."""
    return NUMBER.sub(lambda m: mask_phone(re.sub(r"[ /]", "", m.group(0))), text)


class MaskPersonalData(logging.Filter):
    """Rewrites a record's message with numbers masked (Twilio's errors quote the number dialled)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask, then let the record through."""
        message = record.getMessage()
        masked = mask_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_numbers(record.exc_text)
        return True


def install() -> None:
    """Mask numbers on every handler of the root logger (the service's log output)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskPersonalData) for f in handler.filters):
            handler.addFilter(MaskPersonalData())
