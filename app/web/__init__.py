"""The HTTP layer around the GraphQL view: request guards, security headers, request logs, and
the plain web pages served beside the endpoint (no JavaScript needed).

The guards are ASGI middleware, so they apply to every route and every GraphQL operation
without the resolvers knowing about it (see `app.main.create_app` for the order).
"""
