"""The HTTP layer around the GraphQL view: request guards, security headers, request logs.

Everything here is ASGI middleware, so it applies to every route and every GraphQL operation
without the resolvers knowing about it (see `app.main.create_app` for the order).
"""
