"""Wiring for the offline jobs: the stores and clients of one configuration, built once,
with the catalog store on top of ``storage.stores.Stores``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from content_catalog.store import CatalogStore
from storage.staff import StaffStore
from storage.stores import Stores


@dataclass
class Services(Stores):
    @cached_property
    def catalog(self) -> CatalogStore:
        return CatalogStore(self.engine)

    @cached_property
    def staff(self) -> StaffStore:
        return StaffStore(self.engine)
