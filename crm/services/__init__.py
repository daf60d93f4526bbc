"""CRM services: every rule and every write of the CRM lives here."""
