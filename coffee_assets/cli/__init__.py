"""The command-line tools: coffee-generate and coffee-import (above everything they use)."""
