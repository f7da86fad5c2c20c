"""Appointments and their lifecycle (see the appointments issue)."""
