// Owning handles for what libjwt 1.x allocates: a jwt_t (jwt_free) and the strings jwt_encode_str
// and jwt_get_grants_json return (free). Shared by token minting (service/tokens.cpp) and token
// verification (api/auth.cpp), so each release is written once.
// Thread-safety: plain owning pointers.
#pragma once

#include <jwt.h>

#include <cstdlib>
#include <memory>

namespace escrow::service {

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

struct CharFree {
  void operator()(char* text) const { std::free(text); }
};
using CharPtr = std::unique_ptr<char, CharFree>;

}  // namespace escrow::service
