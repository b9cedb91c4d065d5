// The admin console (DESIGN section 5, `GET /admin/`): a small web page for people who run the
// service, compiled into escrowd. Its files live in api/console/ (index.html, console.css,
// console.js: plain HTML, CSS and JavaScript, no build step) and are embedded at build time by
// cmake/embed_console.cmake. The page asks for an admin token, keeps it in the tab's session
// storage only, and calls the JSON API of the same origin with it; the files themselves are
// public (they hold no data).
//
// Routes: GET /admin/ (index.html) and GET /admin/<file> for every other embedded file (console.js,
// console.css, favicon.svg). Every answer carries a strict Content-Security-Policy
// (same-origin scripts, styles and requests only; no inline script; images also from blob: URLs,
// which the page makes for proof images it fetched with the token), X-Frame-Options DENY,
// nosniff, no referrer, an ETag and `Cache-Control: no-cache` (a browser revalidates and gets
// 304 while the binary is unchanged).
// Thread-safety: the embedded files are immutable; add_console_routes runs once at start-up.
#pragma once

#include <string_view>
#include <vector>

#include "api/router.h"

namespace escrow::api {

// One embedded file of api/console/: its file name and its bytes.
struct ConsoleAsset {
  std::string_view name;
  std::string_view body;
};

// Every file of api/console/, sorted by name (defined in the generated console_assets.cpp).
const std::vector<ConsoleAsset>& console_assets();

void add_console_routes(Router& router);

}  // namespace escrow::api
