"""The sales and customer reports."""
