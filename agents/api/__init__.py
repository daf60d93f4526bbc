"""Agents API: resources (views), routes (urls), and plain views of the other parts."""
