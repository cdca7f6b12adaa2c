"""Structured JSON logging (powertools Logger); request ids are appended per request."""
from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="call-exchange")
