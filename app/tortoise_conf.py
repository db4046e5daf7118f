"""Configuration for Tortoise's own CLI (`tortoise makemigrations`), from DATABASE_URL."""

import os

from app.db import tortoise_config
from app.settings import DEFAULT_DATABASE_URL

TORTOISE_ORM = tortoise_config(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
