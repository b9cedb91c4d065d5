// multipart/form-data parsing; see multipart.h for the contract.
#include "api/multipart.h"

#include <algorithm>
#include <cctype>

#include "ledger/text.h"

namespace escrow::api {

namespace {

constexpr std::string_view crlf = "\r\n";

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_ows(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ows(text.back())) text.remove_suffix(1);
  return text;
}

void skip_ows(std::string_view text, std::size_t& i) {
  while (i < text.size() && is_ows(text[i])) ++i;
}

bool is_ctl(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}

// RFC 9110 tchar.
bool is_token(std::string_view text) {
  constexpr std::string_view specials = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || specials.find(c) != std::string_view::npos;
  });
}

// RFC 2046 bchars; a space may not end the boundary.
bool boundary_valid(std::string_view boundary) {
  constexpr std::string_view extra = "'()+_,-./:=? ";
  if (boundary.empty() || boundary.size() > multipart_boundary_bytes_max) return false;
  if (boundary.back() == ' ') return false;
  return std::all_of(boundary.begin(), boundary.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

// A quoted-string value starting after its opening quote. Browsers percent-encode '"' and
// CR/LF in names and file names and leave '\' alone (a Windows path), so a backslash escapes
// only a following '"' or '\'.
std::optional<std::string> read_quoted(std::string_view text, std::size_t& i) {
  std::string value;
  while (i < text.size()) {
    char c = text[i++];
    if (c == '"') return value;
    if (c == '\\' && i < text.size() && (text[i] == '"' || text[i] == '\\')) c = text[i++];
    value.push_back(c);
  }
  return std::nullopt;  // unterminated
}

std::optional<std::string> read_param_value(std::string_view text, std::size_t& i) {
  if (i < text.size() && text[i] == '"') {
    ++i;
    std::optional<std::string> value = read_quoted(text, i);
    skip_ows(text, i);
    if (!value || (i < text.size() && text[i] != ';')) return std::nullopt;
    return value;
  }
  std::size_t end = std::min(text.find(';', i), text.size());
  std::string_view value = trim(text.substr(i, end - i));
  i = end;
  bool plain = !value.empty() && std::none_of(value.begin(), value.end(),
                                              [](char c) { return is_ows(c) || c == '"'; });
  if (!plain) return std::nullopt;
  return std::string(value);
}

HttpResponse invalid(std::string_view why) {
  return error_response(400, "invalid_multipart",
                        "Malformed multipart body: " + std::string(why) + ".");
}

// Reads the header block of one part starting at `pos` (just after the delimiter's CRLF) and
// leaves `pos` at the first byte of its data.
HttpResult<Part> read_part_headers(std::string_view body, std::size_t& pos,
                                   const MultipartLimits& limits) {
  Part part;
  bool disposition_seen = false;
  part.content_type = "text/plain";
  for (std::size_t lines = 0;; ++lines) {
    std::size_t eol = body.find(crlf, pos);
    if (eol == std::string_view::npos || eol - pos > limits.header_line_bytes_max)
      return invalid("a part header line is unterminated or longer than " +
                     std::to_string(limits.header_line_bytes_max) + " bytes");
    std::string_view line = body.substr(pos, eol - pos);
    pos = eol + crlf.size();
    if (line.empty()) break;
    if (lines == limits.header_lines_max)
      return invalid("a part has more than " + std::to_string(limits.header_lines_max) +
                     " header lines");
    if (is_ows(line.front())) return invalid("folded part header lines are not allowed");
    if (std::any_of(line.begin(), line.end(), is_ctl))
      return invalid("a part header holds a control character");
    std::size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    if (colon == std::string_view::npos || !is_token(name))
      return invalid("a part header line is not `Name: value`");
    std::string_view value = trim(line.substr(colon + 1));
    if (ascii_iequals(name, "Content-Disposition")) {
      std::optional<HeaderValue> parsed = parse_header_value(value);
      if (disposition_seen || !parsed || parsed->value != "form-data" || !parsed->param("name") ||
          parsed->param("name")->empty())
        return invalid("each part needs one `Content-Disposition: form-data; name=\"...\"`");
      disposition_seen = true;
      part.name = std::string(*parsed->param("name"));
      if (auto filename = parsed->param("filename")) part.filename = std::string(*filename);
    } else if (ascii_iequals(name, "Content-Type")) {
      std::optional<HeaderValue> parsed = parse_header_value(value);
      if (!parsed) return invalid("a part has a malformed Content-Type");
      part.content_type = parsed->value;
    }
  }
  if (!disposition_seen)
    return invalid("each part needs one `Content-Disposition: form-data; name=\"...\"`");
  return part;
}

}  // namespace

std::optional<std::string_view> HeaderValue::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<HeaderValue> parse_header_value(std::string_view text) {
  HeaderValue out;
  std::size_t i = std::min(text.find(';'), text.size());
  out.value = ascii_lower(trim(text.substr(0, i)));
  if (out.value.empty()) return std::nullopt;
  while (i < text.size()) {  // text[i] == ';'
    ++i;
    skip_ows(text, i);
    if (i == text.size()) break;  // a trailing ';'
    std::size_t eq = text.find('=', i);
    if (eq == std::string_view::npos) return std::nullopt;
    std::string name = ascii_lower(trim(text.substr(i, eq - i)));
    if (!is_token(name) || out.param(name)) return std::nullopt;
    i = eq + 1;
    skip_ows(text, i);
    std::optional<std::string> value = read_param_value(text, i);
    if (!value) return std::nullopt;
    out.params.emplace_back(std::move(name), std::move(*value));
  }
  return out;
}

HttpResult<std::vector<Part>> parse_multipart(std::string_view content_type, std::string_view body,
                                              const MultipartLimits& limits) {
  std::optional<HeaderValue> media = parse_header_value(content_type);
  if (!media || media->value != "multipart/form-data")
    return error_response(415, "unsupported_media_type",
                          "The body must be multipart/form-data or JSON.");
  std::optional<std::string_view> boundary = media->param("boundary");
  if (!boundary || !boundary_valid(*boundary))
    return invalid("the Content-Type needs a boundary of 1 to 70 allowed characters");
  if (body.size() > limits.body_bytes_max)
    return error_response(
        413, "body_too_large",
        "The upload is larger than " + std::to_string(limits.body_bytes_max) + " bytes.");

  const std::string delimiter = "\r\n--" + std::string(*boundary);
  const std::string_view first = std::string_view(delimiter).substr(crlf.size());
  std::size_t pos = 0;
  if (body.substr(0, first.size()) == first) {
    pos = first.size();
  } else {
    std::size_t found = body.find(delimiter);
    if (found == std::string_view::npos) return invalid("no boundary delimiter was found");
    pos = found + delimiter.size();
  }

  std::vector<Part> parts;
  while (body.substr(pos, 2) != "--") {  // "--" right after a delimiter closes the body
    skip_ows(body, pos);
    if (body.substr(pos, crlf.size()) != crlf)
      return invalid("a boundary delimiter is not followed by CRLF");
    pos += crlf.size();
    if (parts.size() == limits.parts_max)
      return error_response(
          413, "body_too_large",
          "An upload may hold at most " + std::to_string(limits.parts_max) + " parts.");
    HttpResult<Part> part = read_part_headers(body, pos, limits);
    if (!part.is_ok()) return std::move(part).error();
    std::size_t end = body.find(delimiter, pos);
    if (end == std::string_view::npos) return invalid("the body ends before the closing boundary");
    part.value().data = body.substr(pos, end - pos);
    parts.push_back(std::move(part).value());
    pos = end + delimiter.size();
  }
  if (parts.empty()) return invalid("the body holds no parts");
  return parts;
}

}  // namespace escrow::api
