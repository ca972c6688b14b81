"""Typed resource methods: thin wrappers over the endpoint table."""

from ._base import Resource
from .addresses import AddressesResource
from .logistics import LogisticsResource

__all__ = ["AddressesResource", "LogisticsResource", "Resource"]
