"""Analytics and business-intelligence data (clients, inventory, sales) and their CSV ETL."""
