// The OpenAPI 3.0.3 document of escrowd's HTTP API (DESIGN section 5), as JSON text: every route
// with its parameters, request bodies, response schemas, the error body, the bearer JWT security
// scheme and examples. It is api/openapi.json, embedded at build time by cmake/embed_openapi.cmake
// (which refuses a file that is not JSON), and served verbatim by GET /openapi.json.
// test/integration/openapi_test.sh checks that it lists exactly the routes the server registers
// (`escrowd --routes`), that its examples match its schemas, and that Redocly CLI's recommended
// rules find nothing in it.
// Thread-safety: a constant.
#pragma once

#include <string_view>

namespace escrow::api {

// Valid JSON, static storage duration.
std::string_view openapi_document();

}  // namespace escrow::api
