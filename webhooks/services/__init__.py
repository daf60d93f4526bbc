"""Services of the webhooks app: endpoints (create, update, rotate, enable, disable), the
fan-out of events, delivery with retries, replays and test events.  Every door (API, admin,
tasks) calls these."""
