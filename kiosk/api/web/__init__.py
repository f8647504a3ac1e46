"""The maintenance status page: server-rendered pages for staff, their actions, sign-in, static files."""
