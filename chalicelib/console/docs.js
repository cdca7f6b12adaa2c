// The interactive reference of GET /api/v1/openapi.json (Swagger UI, vendored: vendor/swagger-ui/VERSION.txt).
// A file of its own, not an inline script: the page's Content-Security-Policy allows scripts from 'self' only.
window.SwaggerUIBundle({
  url: new URL("openapi.json", window.location.href.replace(/\/docs\/?(\?.*)?$/, "/")).href,
  dom_id: "#reference",
  deepLinking: true,
  tryItOutEnabled: false,
  persistAuthorization: false,
});
