// Minting HS256 bearer tokens over libjwt 1.x; see tokens.h.
#include "service/tokens.h"

#include <jwt.h>

#include "service/jwt_handles.h"

namespace escrow::service {

Result<std::string> issue_token(std::string_view secret, std::string_view sub, Role role,
                                int64_t ttl_s, int64_t now_ms) {
  if (secret.size() < jwt_secret_bytes_min || secret.size() > jwt_secret_bytes_max) {
    return Status(StatusCode::invalid_argument, "the JWT secret has the wrong length");
  }
  if (sub.empty() || sub.size() > jwt_sub_bytes_max || sub.find('\0') != std::string_view::npos) {
    return Status(StatusCode::invalid_argument, "sub must be 1 to 128 bytes");
  }
  if (role == Role::system) {
    return Status(StatusCode::invalid_argument, "the system role is never given to a token");
  }
  if (ttl_s <= 0 || ttl_s > jwt_ttl_s_max) {
    return Status(StatusCode::invalid_argument, "ttl_s is out of range");
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Status(StatusCode::io_error, "jwt_new failed");
  JwtPtr jwt(raw);
  const int64_t now_s = now_ms / 1000;
  std::string sub_text(sub);
  bool ok =
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                  static_cast<int>(secret.size())) == 0 &&
      jwt_add_grant(jwt.get(), "sub", sub_text.c_str()) == 0 &&
      jwt_add_grant(jwt.get(), "role", role_name(role)) == 0 &&
      jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(now_s)) == 0 &&
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(now_s + ttl_s)) == 0;
  if (!ok) return Status(StatusCode::invalid_argument, "the token could not be built");
  CharPtr encoded(jwt_encode_str(jwt.get()));
  if (!encoded) return Status(StatusCode::io_error, "the token could not be encoded");
  return std::string(encoded.get());
}

}  // namespace escrow::service
