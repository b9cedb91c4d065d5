// Small text helpers shared by the HTTP layers (header names, URL schemes and hosts, error
// messages, decoded JSON strings): locale-independent, byte-wise. Thread-safety: pure functions.
#pragma once

#include <cmath>
#include <string>
#include <string_view>

namespace escrow {

inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

inline bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// Whether `text` holds the UTF-8 form of a UTF-16 surrogate (U+D800 to U+DFFF: ED A0..BF ..),
// which is not valid UTF-8. RapidJSON 1.1.0 decodes a lone "\uDC00".."\uDFFF" escape into one
// even when it validates the encoding, so a parser that promises valid UTF-8 checks the strings
// it decoded; in text that is otherwise valid UTF-8 this byte pair is exactly that case.
inline bool holds_surrogate(std::string_view text) {
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) == 0xED &&
        static_cast<unsigned char>(text[i + 1]) >= 0xA0)
      return true;
  }
  return false;
}

// Whether RapidJSON 1.1.0 decoded something that is no JSON value instead of refusing it: a
// string or key holding a surrogate (holds_surrogate above), or a number beyond the range of a
// double, which it reads as infinity (922337101842738791e304; 1e309 it does refuse). A template
// over the value type, so this header needs no RapidJSON; it recurses once per level of nesting,
// which its callers bound before parsing.
template <class JsonValue>
bool json_holds_non_json(const JsonValue& value) {
  if (value.IsString()) return holds_surrogate({value.GetString(), value.GetStringLength()});
  if (value.IsDouble()) return !std::isfinite(value.GetDouble());
  if (value.IsArray()) {
    for (const auto& element : value.GetArray()) {
      if (json_holds_non_json(element)) return true;
    }
  }
  if (value.IsObject()) {
    for (const auto& member : value.GetObject()) {
      if (json_holds_non_json(member.name) || json_holds_non_json(member.value)) return true;
    }
  }
  return false;
}

}  // namespace escrow
