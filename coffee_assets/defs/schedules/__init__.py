"""daily_refresh and its morning schedule."""
