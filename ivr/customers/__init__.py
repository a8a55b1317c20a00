"""Customers across channels: matching, merging, the history API, outbound webhooks, desk search."""
