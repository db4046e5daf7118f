"""What every domain operation needs: settings, the clock and the password hasher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.clock import Clock
from app.domain.security import PasswordHasher
from app.settings import Settings


@dataclass
class Deps:
    settings: Settings
    clock: Clock
    hasher: PasswordHasher

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> Deps:
        return cls(settings, clock or Clock(settings.tz, settings.clock_offset_days), PasswordHasher(settings))

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.today()
