"""What every domain operation needs: settings, the clock, the password hasher, the search's
count cache (one per process, see `SearchCache`) and the guests' spending (`GuestLedger`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app.clock import Clock
from app.domain.catalog_search import SearchCache
from app.domain.security import PasswordHasher
from app.domain.throttle import GuestLedger
from app.settings import Settings


@dataclass
class Deps:
    settings: Settings
    clock: Clock
    hasher: PasswordHasher
    search_cache: SearchCache = field(default_factory=SearchCache)
    guest_ledger: GuestLedger = field(default_factory=GuestLedger)

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> Deps:
        return cls(settings, clock or Clock(settings.tz, settings.clock_offset_days), PasswordHasher(settings))

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.today()
