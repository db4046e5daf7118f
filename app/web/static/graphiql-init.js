// GraphiQL on this server: every asset comes from the server itself (no CDN), the operations go
// to /graphql as a POST with the browser's session cookie, and nothing is written into the URL.
// The editors are kept in sessionStorage: they are gone when the tab closes, so a login typed on
// a shared library PC does not stay behind.
(function () {
  var fetcher = GraphiQL.createFetcher({
    url: "/graphql",
    headers: { accept: "application/graphql-response+json, application/json" },
  });
  ReactDOM.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: window.sessionStorage,
      defaultEditorToolsVisibility: true,
    }),
    document.getElementById("graphiql"),
  );
})();
