DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DROP TABLE event_retention;
DROP TABLE event_head;
DROP TABLE events;
