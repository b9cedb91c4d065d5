// The OpenAPI 3.0.3 document of escrowd's HTTP API (DESIGN section 5), served as
// GET /openapi.json. test/openapi_test.sh keeps it true: every route the server registers is in
// it, every route of the API table is, and every example validates against its schema.
#include "api/openapi.h"

namespace escrow::api {

namespace {

constexpr std::string_view document = R"openapi({
 "openapi": "3.0.3",
 "info": {
  "title": "escrowd",
  "version": "0.1.0",
  "description": "Escrow ledger for service marketplaces paying through Paystack. Money is an integer count of the currency's subunit. Every response carries X-Request-Id; errors are {\"error\": {\"code\", \"message\"}}."
 },
 "servers": [
  {
   "url": "http://127.0.0.1:8080"
  }
 ],
 "security": [
  {
   "bearerAuth": []
  }
 ],
 "tags": [
  {
   "name": "bookings"
  },
  {
   "name": "payments"
  },
  {
   "name": "disputes"
  },
  {
   "name": "providers"
  },
  {
   "name": "paystack"
  },
  {
   "name": "admin"
  },
  {
   "name": "audit"
  },
  {
   "name": "ops"
  }
 ],
 "paths": {
  "/bookings": {
   "post": {
    "operationId": "createBooking",
    "summary": "Register a booking",
    "tags": [
     "bookings"
    ],
    "responses": {
     "201": {
      "description": "created",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Booking"
        }
       }
      }
     },
     "200": {
      "description": "the same id with the same terms already exists",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Booking"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Roles: service, admin. 409 booking_exists when the id exists with other terms; amounts under Paystack's minimum are refused.",
    "parameters": [
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/BookingCreate"
       }
      }
     }
    }
   },
   "get": {
    "operationId": "listBookings",
    "summary": "List bookings, newest first",
    "tags": [
     "bookings"
    ],
    "responses": {
     "200": {
      "description": "one page",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/BookingPage"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Every role; a client or provider sees only their own bookings.",
    "parameters": [
     {
      "name": "client_id",
      "in": "query",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "provider_id",
      "in": "query",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "status",
      "in": "query",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "payment_status",
      "in": "query",
      "schema": {
       "type": "string"
      }
     },
     {
      "$ref": "#/components/parameters/Cursor"
     },
     {
      "$ref": "#/components/parameters/Limit"
     }
    ]
   }
  },
  "/transactions": {
   "get": {
    "operationId": "listTransactions",
    "summary": "A party's money history",
    "tags": [
     "bookings"
    ],
    "responses": {
     "200": {
      "description": "one page",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/TransactionPage"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "The party itself, service, admin, auditor: payments, refunds, payouts and withdrawals.",
    "parameters": [
     {
      "name": "party_id",
      "in": "query",
      "required": true,
      "schema": {
       "type": "string"
      }
     },
     {
      "$ref": "#/components/parameters/Cursor"
     },
     {
      "$ref": "#/components/parameters/Limit"
     }
    ]
   }
  },
  "/bookings/{id}": {
   "get": {
    "operationId": "getBooking",
    "summary": "A booking",
    "tags": [
     "bookings"
    ],
    "responses": {
     "200": {
      "description": "the booking",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Booking"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Parties, service, admin, auditor.",
    "parameters": [
     {
      "$ref": "#/components/parameters/BookingId"
     }
    ]
   }
  },
  "/bookings/{id}/events": {
   "get": {
    "operationId": "getBookingEvents",
    "summary": "The booking's event stream",
    "tags": [
     "audit"
    ],
    "responses": {
     "200": {
      "description": "its events in order",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/BookingEvents"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "With seq, hash and actor.",
    "parameters": [
     {
      "$ref": "#/components/parameters/BookingId"
     }
    ]
   }
  },
  "/bookings/{id}/at": {
   "get": {
    "operationId": "getBookingAt",
    "summary": "The booking as it stood at a seq or a time (replay)",
    "tags": [
     "audit"
    ],
    "responses": {
     "200": {
      "description": "the replayed booking (without payouts)",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/BookingAt"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Exactly one of seq or time.",
    "parameters": [
     {
      "$ref": "#/components/parameters/BookingId"
     },
     {
      "name": "seq",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 1
      }
     },
     {
      "name": "time",
      "in": "query",
      "schema": {
       "type": "string",
       "format": "date-time"
      }
     }
    ]
   }
  },
  "/bookings/{id}/pay": {
   "post": {
    "operationId": "payBooking",
    "summary": "Open a Paystack checkout for the next installment",
    "tags": [
     "payments"
    ],
    "responses": {
     "201": {
      "description": "checkout opened",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/PayResponse"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "502": {
      "$ref": "#/components/responses/BadGateway"
     }
    },
    "description": "Client (owner), service. 409 nothing_due, booking_expired, dispute_open, booking_cancelled.",
    "parameters": [
     {
      "$ref": "#/components/parameters/BookingId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": false,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/PayRequest"
       }
      }
     }
    }
   }
  },
  "/bookings/{id}/complete": {
   "post": {
    "operationId": "completeBooking",
    "summary": "Submit proof of completion",
    "tags": [
     "bookings"
    ],
    "responses": {
     "200": {
      "description": "the updated booking",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Booking"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Provider (owner), while money is held and no dispute is open; starts the auto-confirm clock.",
    "parameters": [
     {
      "$ref": "#/components/parameters/BookingId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CompleteJson"
       }
      },
      "multipart/form-data": {
       "schema": {
        "$ref": "#/components/schemas/CompleteMultipart"
       }
      }
     }
    }
   }
  },
  "/bookings/{id}/proof/{sha256}": {
   "get": {
    "operationId": "getProofFile",
    "summary": "A stored proof file",
    "tags": [
     "bookings"
    ],
    "responses": {
     "200": {
      "description": "the file",
      "content": {
       "image/png": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "image/jpeg": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "image/webp": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       },
       "application/pdf": {
        "schema": {
         "type": "string",
         "format": "binary"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Parties, admin.",
    "parameters": [
     {
      "$ref": "#/components/parameters/BookingId"
     },
     {
      "name": "sha256",
      "in": "path",
      "required": true,
      "schema": {
       "type": "string",
       "pattern": "^[0-9a-f]{64}$"
      }
     }
    ]
   }
  },
  "/bookings/{id}/release-payment": {
   "post": {
    "operationId": "releasePayment",
    "summary": "Approve completion and release",
    "tags": [
     "bookings"
    ],
    "responses": {
     "200": {
      "description": "the updated booking",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Booking"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Client (owner) after proof (proof_required otherwise), or admin. 409 already_released.",
    "parameters": [
     {
      "$ref": "#/components/parameters/BookingId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": false,
     "content": {
      "application/json": {
       "schema": {
        "type": "object"
       },
       "example": {}
      }
     }
    }
   }
  },
  "/bookings/{id}/dispute": {
   "post": {
    "operationId": "openDispute",
    "summary": "Open a dispute",
    "tags": [
     "disputes"
    ],
    "responses": {
     "200": {
      "description": "the updated booking",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Booking"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Client or provider (owner), before release; freezes escrow and the auto-confirm clock.",
    "parameters": [
     {
      "$ref": "#/components/parameters/BookingId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/DisputeRequest"
       }
      }
     }
    }
   }
  },
  "/bookings/{id}/dispute/resolve": {
   "post": {
    "operationId": "resolveDispute",
    "summary": "Resolve a dispute",
    "tags": [
     "disputes"
    ],
    "responses": {
     "200": {
      "description": "the updated booking",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Booking"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Admin only. The fee applies to the provider part only.",
    "parameters": [
     {
      "$ref": "#/components/parameters/BookingId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/ResolveRequest"
       }
      }
     }
    }
   }
  },
  "/bookings/{id}/cancel": {
   "post": {
    "operationId": "cancelBooking",
    "summary": "Cancel a booking; held money is refunded in full",
    "tags": [
     "bookings"
    ],
    "responses": {
     "200": {
      "description": "the updated booking",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Booking"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Client (owner) before proof, provider (owner) before release, or admin.",
    "parameters": [
     {
      "$ref": "#/components/parameters/BookingId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CancelRequest"
       }
      }
     }
    }
   }
  },
  "/payments/verify": {
   "post": {
    "operationId": "verifyPayment",
    "summary": "Ask Paystack about a transaction and apply what it says",
    "tags": [
     "payments"
    ],
    "responses": {
     "200": {
      "description": "what Paystack said and the booking after applying it",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/VerifyResponse"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "502": {
      "$ref": "#/components/responses/BadGateway"
     }
    },
    "description": "Parties, service, admin.",
    "parameters": [
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/VerifyRequest"
       }
      }
     }
    }
   }
  },
  "/providers/{id}/payout-account": {
   "put": {
    "operationId": "putPayoutAccount",
    "summary": "Register the provider's payout account (a Paystack transfer recipient)",
    "tags": [
     "providers"
    ],
    "responses": {
     "200": {
      "description": "registered",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/PayoutAccount"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "502": {
      "$ref": "#/components/responses/BadGateway"
     }
    },
    "description": "Provider (self), service. The account number is never returned nor logged.",
    "parameters": [
     {
      "$ref": "#/components/parameters/ProviderId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/PayoutAccountRequest"
       }
      }
     }
    }
   }
  },
  "/providers/{id}/balance": {
   "get": {
    "operationId": "getProviderBalance",
    "summary": "The provider's balances per currency",
    "tags": [
     "providers"
    ],
    "responses": {
     "200": {
      "description": "balances",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Balance"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Provider (self), service, admin, auditor.",
    "parameters": [
     {
      "$ref": "#/components/parameters/ProviderId"
     }
    ]
   }
  },
  "/providers/{id}/withdrawals": {
   "post": {
    "operationId": "requestWithdrawal",
    "summary": "Withdraw part of the available balance",
    "tags": [
     "providers"
    ],
    "responses": {
     "201": {
      "description": "the withdrawal and the payout it queued",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Withdrawal"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Provider (self). 409 insufficient_balance, payout_account_missing.",
    "parameters": [
     {
      "$ref": "#/components/parameters/ProviderId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/WithdrawalRequest"
       }
      }
     }
    }
   },
   "get": {
    "operationId": "listWithdrawals",
    "summary": "Payout history",
    "tags": [
     "providers"
    ],
    "responses": {
     "200": {
      "description": "payouts, newest first",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/PayoutPage"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Provider (self), service, admin, auditor.",
    "parameters": [
     {
      "$ref": "#/components/parameters/ProviderId"
     },
     {
      "$ref": "#/components/parameters/Cursor"
     },
     {
      "$ref": "#/components/parameters/Limit"
     }
    ]
   }
  },
  "/webhooks/paystack": {
   "post": {
    "operationId": "paystackWebhook",
    "summary": "Paystack webhook",
    "tags": [
     "paystack"
    ],
    "responses": {
     "200": {
      "description": "accepted: stored (deduplicated) and processed in the background",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/WebhookAccepted"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     }
    },
    "description": "Verified before parsing; 401 and nothing stored otherwise.",
    "parameters": [
     {
      "name": "x-paystack-signature",
      "in": "header",
      "required": true,
      "schema": {
       "type": "string",
       "pattern": "^[0-9a-f]{128}$"
      },
      "description": "hex HMAC-SHA512 of the raw body with the secret key"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "type": "object",
        "properties": {
         "event": {
          "type": "string"
         },
         "data": {
          "type": "object"
         }
        },
        "required": [
         "event",
         "data"
        ]
       },
       "example": {
        "event": "charge.success",
        "data": {
         "reference": "pay-bk-2024-0001-1-1",
         "amount": 5000000,
         "currency": "NGN",
         "status": "success"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/admin/disputes": {
   "get": {
    "operationId": "listDisputes",
    "summary": "Disputes",
    "tags": [
     "admin"
    ],
    "responses": {
     "200": {
      "description": "disputes, newest first",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/DisputePage"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Admin.",
    "parameters": [
     {
      "name": "status",
      "in": "query",
      "schema": {
       "type": "string",
       "enum": [
        "open",
        "resolved"
       ]
      }
     },
     {
      "$ref": "#/components/parameters/Cursor"
     },
     {
      "name": "limit",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 1000,
       "default": 200
      }
     }
    ]
   }
  },
  "/admin/webhook-events": {
   "get": {
    "operationId": "listWebhookEvents",
    "summary": "Stored Paystack webhooks with counts by state",
    "tags": [
     "admin"
    ],
    "responses": {
     "200": {
      "description": "one page",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/WebhookDeliveryPage"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Admin, auditor.",
    "parameters": [
     {
      "name": "page",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "default": 1
      }
     },
     {
      "name": "limit",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 200,
       "default": 50
      }
     },
     {
      "name": "event",
      "in": "query",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "processed",
      "in": "query",
      "description": "the deliveries in this status",
      "schema": {
       "type": "string",
       "enum": [
        "received",
        "processed",
        "failed",
        "ignored"
       ]
      }
     },
     {
      "name": "reference",
      "in": "query",
      "schema": {
       "type": "string"
      }
     },
     {
      "name": "from",
      "in": "query",
      "schema": {
       "type": "string",
       "format": "date-time"
      }
     },
     {
      "name": "to",
      "in": "query",
      "schema": {
       "type": "string",
       "format": "date-time"
      }
     }
    ]
   }
  },
  "/admin/webhook-events/{id}": {
   "get": {
    "operationId": "getWebhookEvent",
    "summary": "One stored webhook delivery",
    "tags": [
     "admin"
    ],
    "responses": {
     "200": {
      "description": "the delivery",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/WebhookDelivery"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Admin, auditor.",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "integer",
       "minimum": 1
      }
     }
    ]
   }
  },
  "/admin/webhook-events/{id}/retry": {
   "post": {
    "operationId": "retryWebhookEvent",
    "summary": "Re-process a stored webhook",
    "tags": [
     "admin"
    ],
    "responses": {
     "200": {
      "description": "the delivery after processing it again",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/WebhookDelivery"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Admin.",
    "parameters": [
     {
      "name": "id",
      "in": "path",
      "required": true,
      "schema": {
       "type": "integer"
      }
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ]
   }
  },
  "/admin/payouts/{id}/finalize": {
   "post": {
    "operationId": "finalizePayout",
    "summary": "Send the OTP for a transfer Paystack holds",
    "tags": [
     "admin"
    ],
    "responses": {
     "200": {
      "description": "the payout as Paystack left it",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/FinalizedPayout"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "502": {
      "$ref": "#/components/responses/BadGateway"
     }
    },
    "description": "Admin. 409 payout_not_awaiting_otp.",
    "parameters": [
     {
      "$ref": "#/components/parameters/PayoutId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/FinalizeRequest"
       }
      }
     }
    }
   }
  },
  "/admin/payouts/{id}/retry": {
   "post": {
    "operationId": "retryPayout",
    "summary": "Pay a failed or reversed payout again, under a new transfer reference",
    "tags": [
     "admin"
    ],
    "responses": {
     "201": {
      "description": "the new payout, queued",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/RetriedPayout"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "description": "no such id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        },
        "examples": {
         "unknown_payout": {
          "value": {
           "error": {
            "code": "unknown_payout",
            "message": "No payout has this id."
           }
          }
         }
        }
       }
      }
     },
     "409": {
      "description": "not retryable now",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        },
        "examples": {
         "payout_not_retryable": {
          "value": {
           "error": {
            "code": "payout_not_retryable",
            "message": "Only a failed or reversed payout can be retried, and only once."
           }
          }
         },
         "insufficient_balance": {
          "value": {
           "error": {
            "code": "insufficient_balance",
            "message": "The amount is more than the available balance."
           }
          }
         }
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Admin. The failure returned the money to the provider's available balance; the retry takes it from there as a new payout (`retry_of` names the old one, `reference` is new) that the outbox sends to Paystack. No body. 409 payout_not_retryable (not failed or reversed, or retried already), insufficient_balance (withdrawn meanwhile), payout_account_missing.",
    "parameters": [
     {
      "$ref": "#/components/parameters/PayoutId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ]
   }
  },
  "/admin/refunds/{id}/retry": {
   "post": {
    "operationId": "retryRefund",
    "summary": "Ask Paystack again for a failed refund",
    "tags": [
     "admin"
    ],
    "responses": {
     "201": {
      "description": "the new refund, queued",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/RetriedRefund"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "description": "no such id",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        },
        "examples": {
         "unknown_refund": {
          "value": {
           "error": {
            "code": "unknown_refund",
            "message": "No refund has this id."
           }
          }
         }
        }
       }
      }
     },
     "409": {
      "description": "not retryable now",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Error"
        },
        "examples": {
         "refund_not_retryable": {
          "value": {
           "error": {
            "code": "refund_not_retryable",
            "message": "Only a failed refund can be retried, and only once."
           }
          }
         }
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/TooLarge"
     },
     "422": {
      "$ref": "#/components/responses/KeyReused"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Admin. A new refund of the same charge and amount, under a new refund id (`retry_of` names the failed one), that the outbox sends to Paystack; the booking shows both. No body. 409 refund_not_retryable (not failed, or retried already).",
    "parameters": [
     {
      "$ref": "#/components/parameters/RefundId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     }
    ]
   }
  },
  "/events": {
   "get": {
    "operationId": "listEvents",
    "summary": "The global event log, in order",
    "tags": [
     "audit"
    ],
    "responses": {
     "200": {
      "description": "events after `after`",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/EventPage"
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     }
    },
    "description": "Admin, auditor.",
    "parameters": [
     {
      "name": "after",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 0,
       "default": 0
      }
     },
     {
      "name": "limit",
      "in": "query",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 1000,
       "default": 100
      }
     }
    ]
   }
  },
  "/healthz": {
   "get": {
    "operationId": "healthz",
    "summary": "Liveness",
    "tags": [
     "ops"
    ],
    "responses": {
     "200": {
      "description": "alive",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Health"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/readyz": {
   "get": {
    "operationId": "readyz",
    "summary": "Readiness: database writable, migrations applied",
    "tags": [
     "ops"
    ],
    "responses": {
     "200": {
      "description": "ready",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Readiness"
        }
       }
      }
     },
     "503": {
      "description": "not ready",
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/Readiness"
        },
        "example": {
         "status": "unavailable",
         "checks": {
          "database_writable": false,
          "migrations_current": true,
          "store_ok": true
         }
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/metrics": {
   "get": {
    "operationId": "metrics",
    "summary": "Prometheus metrics",
    "tags": [
     "ops"
    ],
    "responses": {
     "200": {
      "description": "text exposition format",
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/openapi.json": {
   "get": {
    "operationId": "openapi",
    "summary": "This document",
    "tags": [
     "ops"
    ],
    "responses": {
     "200": {
      "description": "OpenAPI 3.0.3",
      "content": {
       "application/json": {
        "schema": {
         "type": "object"
        }
       }
      }
     }
    },
    "security": []
   }
  },
  "/admin/": {
   "get": {
    "operationId": "adminConsole",
    "summary": "The admin console (asks for an admin token)",
    "tags": [
     "ops"
    ],
    "responses": {
     "200": {
      "description": "HTML",
      "content": {
       "text/html": {
        "schema": {
         "type": "string"
        }
       }
      }
     }
    },
    "security": []
   }
  }
 },
 "components": {
  "securitySchemes": {
   "bearerAuth": {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "HS256 signed with ESCROW_JWT_SECRET; claims sub, role (client, provider, admin, service, auditor), exp"
   }
  },
  "schemas": {
   "Error": {
    "type": "object",
    "properties": {
     "error": {
      "type": "object",
      "properties": {
       "code": {
        "type": "string",
        "description": "stable snake_case code, e.g. dispute_open",
        "pattern": "^[a-z0-9_]+$"
       },
       "message": {
        "type": "string",
        "description": "a human sentence"
       }
      },
      "required": [
       "code",
       "message"
      ]
     }
    },
    "required": [
     "error"
    ],
    "example": {
     "error": {
      "code": "dispute_open",
      "message": "A dispute is open on this booking."
     }
    }
   },
   "PaymentPlan": {
    "type": "object",
    "required": [
     "type"
    ],
    "properties": {
     "type": {
      "type": "string",
      "enum": [
       "full",
       "split"
      ]
     },
     "deposit_bps": {
      "type": "integer",
      "minimum": 1,
      "maximum": 9999,
      "description": "split only: deposit share in basis points"
     }
    },
    "example": {
     "type": "split",
     "deposit_bps": 5000
    }
   },
   "BookingCreate": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string",
      "pattern": "^[A-Za-z0-9_-]{1,64}$",
      "description": "caller-chosen id; generated when absent"
     },
     "client_id": {
      "type": "string",
      "maxLength": 128
     },
     "provider_id": {
      "type": "string",
      "maxLength": 128
     },
     "client_email": {
      "type": "string",
      "format": "email",
      "maxLength": 254
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 1,
      "description": "subunits (kobo, pesewas, cents); at least Paystack's minimum"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "description": {
      "type": "string",
      "maxLength": 2000
     },
     "payment_plan": {
      "$ref": "#/components/schemas/PaymentPlan"
     },
     "pay_by": {
      "type": "string",
      "format": "date-time",
      "description": "payment refused with booking_expired after this"
     },
     "fee_bps": {
      "type": "integer",
      "minimum": 0,
      "maximum": 10000,
      "description": "default ESCROW_PLATFORM_FEE_BPS"
     },
     "auto_confirm_after_s": {
      "type": "integer",
      "minimum": 0,
      "description": "default ESCROW_AUTO_CONFIRM_AFTER_S; 0 disables"
     }
    },
    "required": [
     "client_id",
     "provider_id",
     "client_email",
     "amount",
     "currency",
     "description",
     "payment_plan"
    ],
    "example": {
     "id": "bk_2024_0001",
     "client_id": "cl_ada",
     "provider_id": "pr_bola",
     "client_email": "ada@example.com",
     "amount": 5000000,
     "currency": "NGN",
     "description": "Deep clean, 3-bedroom flat",
     "payment_plan": {
      "type": "full"
     }
    }
   },
   "Installment": {
    "type": "object",
    "properties": {
     "installment": {
      "type": "integer",
      "minimum": 1
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "due for this installment"
     }
    },
    "required": [
     "installment",
     "amount"
    ]
   },
   "Payment": {
    "type": "object",
    "properties": {
     "reference": {
      "type": "string",
      "description": "Paystack transaction reference"
     },
     "installment": {
      "type": "integer",
      "minimum": 1
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "asked for; what was received when flagged"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "status": {
      "type": "string",
      "enum": [
       "pending",
       "captured",
       "failed",
       "flagged"
      ]
     },
     "paystack_transaction_id": {
      "type": "integer",
      "format": "int64",
      "nullable": true
     },
     "paystack_fee": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "Paystack's processing fee"
     },
     "refunded": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "refunds requested against it and not failed"
     },
     "in_escrow": {
      "type": "boolean",
      "description": "captured and held (not refunded at once)"
     }
    },
    "required": [
     "reference",
     "installment",
     "amount",
     "currency",
     "status",
     "paystack_transaction_id",
     "paystack_fee",
     "refunded",
     "in_escrow"
    ]
   },
   "ProofFile": {
    "type": "object",
    "properties": {
     "sha256": {
      "type": "string",
      "pattern": "^[0-9a-f]{64}$"
     },
     "content_type": {
      "type": "string",
      "enum": [
       "image/jpeg",
       "image/png",
       "image/webp",
       "application/pdf"
      ]
     },
     "name": {
      "type": "string"
     },
     "size_bytes": {
      "type": "integer",
      "minimum": 1,
      "maximum": 10485760
     },
     "url": {
      "type": "string",
      "description": "GET it with a party's or an admin's token"
     }
    },
    "required": [
     "sha256",
     "content_type",
     "name",
     "size_bytes",
     "url"
    ]
   },
   "Proof": {
    "type": "object",
    "properties": {
     "notes": {
      "type": "string"
     },
     "files": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/ProofFile"
      }
     },
     "attachments": {
      "type": "array",
      "items": {
       "type": "object",
       "properties": {
        "url": {
         "type": "string"
        }
       },
       "required": [
        "url"
       ]
      }
     }
    },
    "required": [
     "notes",
     "files",
     "attachments"
    ]
   },
   "Dispute": {
    "type": "object",
    "properties": {
     "status": {
      "type": "string",
      "enum": [
       "open",
       "resolved"
      ]
     },
     "opened_by": {
      "type": "string"
     },
     "role": {
      "type": "string",
      "description": "role of who opened it"
     },
     "reason": {
      "type": "string"
     },
     "description": {
      "type": "string"
     },
     "source": {
      "type": "string",
      "enum": [
       "party",
       "chargeback"
      ]
     },
     "paystack_dispute_id": {
      "type": "integer",
      "format": "int64",
      "nullable": true
     },
     "outcome": {
      "type": "string",
      "enum": [
       "release",
       "refund",
       "split"
      ],
      "description": "once resolved"
     },
     "provider_amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "once resolved: to the provider (gross)"
     },
     "refund_amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "once resolved: to the client"
     },
     "note": {
      "type": "string",
      "description": "once resolved"
     },
     "resolved_by": {
      "type": "string",
      "description": "once resolved"
     }
    },
    "required": [
     "status",
     "opened_by",
     "role",
     "reason",
     "description",
     "source",
     "paystack_dispute_id"
    ]
   },
   "Refund": {
    "type": "object",
    "properties": {
     "refund_id": {
      "type": "string"
     },
     "payment_reference": {
      "type": "string"
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "refunded"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "status": {
      "type": "string",
      "enum": [
       "queued",
       "pending",
       "processing",
       "processed",
       "failed",
       "needs_attention"
      ]
     },
     "reason": {
      "type": "string"
     },
     "attempt": {
      "type": "integer",
      "minimum": 1
     },
     "paystack_refund_id": {
      "type": "integer",
      "format": "int64",
      "nullable": true
     },
     "failure_reason": {
      "type": "string",
      "description": "when it failed"
     }
    },
    "required": [
     "refund_id",
     "payment_reference",
     "amount",
     "currency",
     "status",
     "reason",
     "attempt",
     "paystack_refund_id"
    ]
   },
   "BookingPayout": {
    "type": "object",
    "properties": {
     "payout_id": {
      "type": "string",
      "description": "also the Paystack transfer reference",
      "pattern": "^[a-z0-9-]{16,50}$"
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "net paid to the provider"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "status": {
      "type": "string",
      "enum": [
       "queued",
       "pending",
       "otp",
       "success",
       "failed",
       "reversed"
      ]
     },
     "source": {
      "type": "string",
      "enum": [
       "release",
       "withdrawal",
       "retry"
      ]
     },
     "attempt": {
      "type": "integer",
      "minimum": 1
     },
     "transfer_code": {
      "type": "string"
     },
     "reason": {
      "type": "string",
      "description": "why it failed"
     },
     "created_at": {
      "type": "string",
      "format": "date-time"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time"
     }
    },
    "required": [
     "payout_id",
     "amount",
     "currency",
     "status",
     "source",
     "attempt",
     "transfer_code",
     "created_at",
     "updated_at"
    ],
    "example": {
     "payout_id": "po-pr-bola-000001",
     "amount": 4750000,
     "currency": "NGN",
     "status": "success",
     "source": "release",
     "attempt": 1,
     "transfer_code": "TRF_1ptvuv321ahaa7q",
     "created_at": "2026-01-06T09:00:00.000Z",
     "updated_at": "2026-01-06T09:00:01.000Z"
    }
   },
   "Payout": {
    "type": "object",
    "properties": {
     "payout_id": {
      "type": "string",
      "description": "also the Paystack transfer reference",
      "pattern": "^[a-z0-9-]{16,50}$"
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "paid to the provider"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "status": {
      "type": "string",
      "enum": [
       "queued",
       "pending",
       "otp",
       "success",
       "failed",
       "reversed"
      ]
     },
     "source": {
      "type": "string",
      "enum": [
       "release",
       "withdrawal",
       "retry"
      ]
     },
     "booking_id": {
      "type": "string",
      "nullable": true
     },
     "withdrawal_id": {
      "type": "string",
      "nullable": true
     },
     "retry_of": {
      "type": "string",
      "nullable": true
     },
     "attempt": {
      "type": "integer",
      "minimum": 1
     },
     "transfer_code": {
      "type": "string"
     },
     "reason": {
      "type": "string"
     },
     "created_at": {
      "type": "string",
      "format": "date-time"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time"
     }
    },
    "required": [
     "payout_id",
     "amount",
     "currency",
     "status",
     "source",
     "booking_id",
     "withdrawal_id",
     "retry_of",
     "attempt",
     "transfer_code",
     "reason",
     "created_at",
     "updated_at"
    ],
    "example": {
     "payout_id": "po-pr-bola-000001",
     "amount": 4750000,
     "currency": "NGN",
     "status": "success",
     "source": "release",
     "attempt": 1,
     "transfer_code": "TRF_1ptvuv321ahaa7q",
     "created_at": "2026-01-06T09:00:00.000Z",
     "updated_at": "2026-01-06T09:00:01.000Z",
     "booking_id": "bk_2024_0001",
     "withdrawal_id": null,
     "retry_of": null,
     "reason": ""
    }
   },
   "Booking": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string",
      "pattern": "^[A-Za-z0-9_-]{1,64}$"
     },
     "client_id": {
      "type": "string"
     },
     "provider_id": {
      "type": "string"
     },
     "client_email": {
      "type": "string"
     },
     "description": {
      "type": "string"
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "the whole price"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "payment_plan": {
      "$ref": "#/components/schemas/PaymentPlan"
     },
     "installments": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Installment"
      }
     },
     "fee_bps": {
      "type": "integer"
     },
     "auto_confirm_after_s": {
      "type": "integer"
     },
     "status": {
      "type": "string",
      "enum": [
       "awaiting_payment",
       "pending_execution",
       "awaiting_confirmation",
       "completed",
       "disputed",
       "cancelled",
       "refunded"
      ]
     },
     "payment_status": {
      "type": "string",
      "enum": [
       "unpaid",
       "pending",
       "partially_paid",
       "escrow",
       "released",
       "refunding",
       "refunded",
       "split",
       "failed"
      ]
     },
     "amount_paid": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "captured into escrow"
     },
     "escrow_balance": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "held now"
     },
     "platform_fee": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "planned until released, then what was taken; 0 when it ended without a release"
     },
     "provider_net": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "the provider's part after the fee, likewise"
     },
     "released": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "gross moved out of escrow to the provider side"
     },
     "refunded": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "refunds requested and not failed"
     },
     "approved": {
      "type": "boolean",
      "description": "completion approved (release may wait for the last installment)"
     },
     "release_reason": {
      "type": "string",
      "description": "once released"
     },
     "auto_confirm_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "pay_by": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "payments": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Payment"
      }
     },
     "proof": {
      "nullable": true,
      "allOf": [
       {
        "$ref": "#/components/schemas/Proof"
       }
      ]
     },
     "dispute": {
      "nullable": true,
      "allOf": [
       {
        "$ref": "#/components/schemas/Dispute"
       }
      ]
     },
     "payouts": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/BookingPayout"
      },
      "description": "absent in a replay (GET /bookings/{id}/at)"
     },
     "refunds": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Refund"
      }
     },
     "version": {
      "type": "integer",
      "minimum": 1
     },
     "created_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     }
    },
    "required": [
     "id",
     "client_id",
     "provider_id",
     "client_email",
     "description",
     "amount",
     "currency",
     "payment_plan",
     "installments",
     "fee_bps",
     "auto_confirm_after_s",
     "status",
     "payment_status",
     "amount_paid",
     "escrow_balance",
     "platform_fee",
     "provider_net",
     "released",
     "refunded",
     "approved",
     "auto_confirm_at",
     "pay_by",
     "payments",
     "proof",
     "dispute",
     "refunds",
     "version",
     "created_at"
    ],
    "example": {
     "id": "bk_2024_0001",
     "client_id": "cl_ada",
     "provider_id": "pr_bola",
     "client_email": "ada@example.com",
     "description": "Deep clean, 3-bedroom flat",
     "amount": 5000000,
     "currency": "NGN",
     "payment_plan": {
      "type": "full"
     },
     "installments": [
      {
       "installment": 1,
       "amount": 5000000
      }
     ],
     "fee_bps": 500,
     "auto_confirm_after_s": 259200,
     "status": "completed",
     "payment_status": "released",
     "amount_paid": 5000000,
     "escrow_balance": 0,
     "platform_fee": 250000,
     "provider_net": 4750000,
     "released": 5000000,
     "refunded": 0,
     "approved": true,
     "release_reason": "client_approved",
     "auto_confirm_at": "2026-01-08T09:00:00.000Z",
     "pay_by": null,
     "payments": [
      {
       "reference": "pay-bk-2024-0001-1-1",
       "installment": 1,
       "amount": 5000000,
       "currency": "NGN",
       "status": "captured",
       "paystack_transaction_id": 4099260516,
       "paystack_fee": 85000,
       "refunded": 0,
       "in_escrow": true
      }
     ],
     "proof": {
      "notes": "All rooms cleaned.",
      "files": [
       {
        "sha256": "3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f",
        "content_type": "image/png",
        "name": "after.png",
        "size_bytes": 68,
        "url": "/bookings/bk_2024_0001/proof/3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f"
       }
      ],
      "attachments": []
     },
     "dispute": null,
     "payouts": [
      {
       "payout_id": "po-pr-bola-000001",
       "amount": 4750000,
       "currency": "NGN",
       "status": "success",
       "source": "release",
       "attempt": 1,
       "transfer_code": "TRF_1ptvuv321ahaa7q",
       "created_at": "2026-01-06T09:00:00.000Z",
       "updated_at": "2026-01-06T09:00:01.000Z"
      }
     ],
     "refunds": [],
     "version": 6,
     "created_at": "2026-01-05T10:00:00.000Z"
    }
   },
   "BookingSummary": {
    "type": "object",
    "properties": {
     "id": {
      "type": "string",
      "pattern": "^[A-Za-z0-9_-]{1,64}$"
     },
     "client_id": {
      "type": "string"
     },
     "provider_id": {
      "type": "string"
     },
     "description": {
      "type": "string"
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "the whole price"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "status": {
      "type": "string",
      "enum": [
       "awaiting_payment",
       "pending_execution",
       "awaiting_confirmation",
       "completed",
       "disputed",
       "cancelled",
       "refunded"
      ]
     },
     "payment_status": {
      "type": "string",
      "enum": [
       "unpaid",
       "pending",
       "partially_paid",
       "escrow",
       "released",
       "refunding",
       "refunded",
       "split",
       "failed"
      ]
     },
     "amount_paid": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": ""
     },
     "escrow_balance": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": ""
     },
     "platform_fee": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": ""
     },
     "provider_net": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": ""
     },
     "pay_by": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "auto_confirm_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     },
     "version": {
      "type": "integer"
     },
     "created_at": {
      "type": "string",
      "format": "date-time"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time"
     }
    },
    "required": [
     "id",
     "client_id",
     "provider_id",
     "description",
     "amount",
     "currency",
     "status",
     "payment_status",
     "amount_paid",
     "escrow_balance",
     "platform_fee",
     "provider_net",
     "pay_by",
     "auto_confirm_at",
     "version",
     "created_at",
     "updated_at"
    ]
   },
   "BookingPage": {
    "type": "object",
    "properties": {
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/BookingSummary"
      }
     },
     "next_cursor": {
      "type": "string",
      "description": "pass as cursor for the next page; null on the last",
      "nullable": true
     }
    },
    "required": [
     "data",
     "next_cursor"
    ]
   },
   "Transaction": {
    "type": "object",
    "properties": {
     "kind": {
      "type": "string",
      "enum": [
       "payment",
       "refund",
       "payout",
       "withdrawal"
      ]
     },
     "booking_id": {
      "type": "string",
      "nullable": true
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": ""
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "status": {
      "type": "string",
      "description": "the payment's, refund's or payout's status"
     },
     "reference": {
      "type": "string",
      "description": "payment reference, refund id or payout id"
     },
     "at": {
      "type": "string",
      "format": "date-time"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time"
     }
    },
    "required": [
     "kind",
     "booking_id",
     "amount",
     "currency",
     "status",
     "reference",
     "at",
     "updated_at"
    ]
   },
   "TransactionPage": {
    "type": "object",
    "properties": {
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Transaction"
      }
     },
     "next_cursor": {
      "type": "string",
      "description": "pass as cursor for the next page; null on the last",
      "nullable": true
     }
    },
    "required": [
     "data",
     "next_cursor"
    ]
   },
   "Event": {
    "type": "object",
    "properties": {
     "seq": {
      "type": "integer",
      "minimum": 1
     },
     "stream": {
      "type": "string",
      "example": "booking-bk_2024_0001"
     },
     "version": {
      "type": "integer",
      "minimum": 1
     },
     "type": {
      "type": "string",
      "example": "PaymentCaptured"
     },
     "data": {
      "type": "object",
      "description": "the stored JSON, byte for byte as hashed"
     },
     "meta": {
      "type": "object",
      "description": "actor_id, actor_role, request_id, idempotency_key, causation_seq"
     },
     "recorded_at": {
      "type": "string",
      "format": "date-time"
     },
     "recorded_at_ms": {
      "type": "integer",
      "format": "int64"
     },
     "prev_hash": {
      "type": "string",
      "pattern": "^[0-9a-f]{64}$"
     },
     "hash": {
      "type": "string",
      "pattern": "^[0-9a-f]{64}$"
     }
    },
    "required": [
     "seq",
     "stream",
     "version",
     "type",
     "data",
     "meta",
     "recorded_at",
     "recorded_at_ms",
     "prev_hash",
     "hash"
    ]
   },
   "BookingEvent": {
    "allOf": [
     {
      "$ref": "#/components/schemas/Event"
     },
     {
      "type": "object",
      "properties": {
       "actor": {
        "type": "object",
        "properties": {
         "id": {
          "type": "string"
         },
         "role": {
          "type": "string"
         }
        },
        "required": [
         "id",
         "role"
        ]
       }
      },
      "required": [
       "actor"
      ]
     }
    ]
   },
   "BookingEvents": {
    "type": "object",
    "properties": {
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/BookingEvent"
      }
     }
    },
    "required": [
     "data"
    ]
   },
   "EventPage": {
    "type": "object",
    "properties": {
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Event"
      }
     },
     "next_after": {
      "type": "integer",
      "description": "pass as after for the next page (the after asked for when the page is empty)"
     }
    },
    "required": [
     "data",
     "next_after"
    ]
   },
   "BookingAt": {
    "type": "object",
    "properties": {
     "as_of": {
      "type": "object",
      "properties": {
       "seq": {
        "type": "integer"
       },
       "recorded_at": {
        "type": "string",
        "format": "date-time"
       }
      },
      "required": [
       "seq",
       "recorded_at"
      ]
     },
     "booking": {
      "$ref": "#/components/schemas/Booking"
     }
    },
    "required": [
     "as_of",
     "booking"
    ]
   },
   "PayRequest": {
    "type": "object",
    "properties": {
     "callback_url": {
      "type": "string",
      "format": "uri",
      "maxLength": 2048,
      "description": "where Paystack's checkout sends the client back"
     }
    },
    "example": {
     "callback_url": "https://market.example.com/bookings/bk_2024_0001/paid"
    }
   },
   "PayResponse": {
    "type": "object",
    "properties": {
     "reference": {
      "type": "string"
     },
     "authorization_url": {
      "type": "string",
      "format": "uri"
     },
     "access_code": {
      "type": "string"
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "this installment"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "installment": {
      "type": "integer",
      "minimum": 1
     },
     "booking": {
      "$ref": "#/components/schemas/Booking"
     }
    },
    "required": [
     "reference",
     "authorization_url",
     "access_code",
     "amount",
     "currency",
     "installment",
     "booking"
    ]
   },
   "CompleteJson": {
    "type": "object",
    "properties": {
     "notes": {
      "type": "string",
      "maxLength": 5000
     },
     "attachments": {
      "type": "array",
      "maxItems": 10,
      "items": {
       "type": "object",
       "properties": {
        "url": {
         "type": "string",
         "format": "uri"
        }
       },
       "required": [
        "url"
       ]
      }
     }
    },
    "required": [
     "notes"
    ],
    "example": {
     "notes": "All rooms cleaned; photos attached.",
     "attachments": [
      {
       "url": "https://cdn.example.com/p/1.jpg"
      }
     ]
    }
   },
   "CompleteMultipart": {
    "type": "object",
    "properties": {
     "notes": {
      "type": "string"
     },
     "files": {
      "type": "array",
      "maxItems": 10,
      "items": {
       "type": "string",
       "format": "binary"
      },
      "description": "JPEG, PNG, WebP or PDF (sniffed), 10 MiB each, 50 MiB in all"
     }
    },
    "required": [
     "notes"
    ]
   },
   "DisputeRequest": {
    "type": "object",
    "properties": {
     "reason": {
      "type": "string",
      "maxLength": 200
     },
     "description": {
      "type": "string",
      "maxLength": 5000
     }
    },
    "required": [
     "reason"
    ],
    "example": {
     "reason": "not_delivered",
     "description": "Nobody came on the agreed day."
    }
   },
   "ResolveRequest": {
    "type": "object",
    "properties": {
     "outcome": {
      "type": "string",
      "enum": [
       "release",
       "refund",
       "split"
      ]
     },
     "provider_amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "split only: to the provider, before the fee"
     },
     "refund_amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "split only: back to the client; provider_amount + refund_amount = held"
     },
     "note": {
      "type": "string",
      "maxLength": 5000
     }
    },
    "required": [
     "outcome",
     "note"
    ],
    "example": {
     "outcome": "split",
     "provider_amount": 3000000,
     "refund_amount": 2000000,
     "note": "Half the rooms were cleaned."
    }
   },
   "CancelRequest": {
    "type": "object",
    "properties": {
     "reason": {
      "type": "string",
      "maxLength": 200
     }
    },
    "required": [
     "reason"
    ],
    "example": {
     "reason": "client_changed_plans"
    }
   },
   "VerifyRequest": {
    "type": "object",
    "properties": {
     "reference": {
      "type": "string",
      "maxLength": 100
     }
    },
    "required": [
     "reference"
    ],
    "example": {
     "reference": "pay-bk-2024-0001-1-1"
    }
   },
   "VerifyResponse": {
    "type": "object",
    "properties": {
     "reference": {
      "type": "string"
     },
     "settlement": {
      "type": "string",
      "enum": [
       "captured",
       "flagged",
       "failed",
       "in_progress",
       "unknown_reference",
       "refused"
      ]
     },
     "booking": {
      "$ref": "#/components/schemas/Booking"
     }
    },
    "required": [
     "reference",
     "settlement",
     "booking"
    ]
   },
   "PayoutAccountRequest": {
    "type": "object",
    "properties": {
     "bank_code": {
      "type": "string"
     },
     "account_number": {
      "type": "string",
      "pattern": "^[0-9]{6,20}$"
     },
     "account_name": {
      "type": "string"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     }
    },
    "required": [
     "bank_code",
     "account_number",
     "account_name",
     "currency"
    ],
    "example": {
     "bank_code": "044",
     "account_number": "0123456789",
     "account_name": "Bola Ade",
     "currency": "NGN"
    }
   },
   "PayoutAccount": {
    "type": "object",
    "properties": {
     "provider_id": {
      "type": "string"
     },
     "recipient_code": {
      "type": "string"
     },
     "bank_code": {
      "type": "string"
     },
     "account_name": {
      "type": "string"
     },
     "account_number_last4": {
      "type": "string",
      "pattern": "^[0-9]{4}$"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     }
    },
    "required": [
     "provider_id",
     "recipient_code",
     "bank_code",
     "account_name",
     "account_number_last4",
     "currency"
    ],
    "example": {
     "provider_id": "pr_bola",
     "recipient_code": "RCP_2x5j67tnnw1t98k",
     "bank_code": "044",
     "account_name": "Bola Ade",
     "account_number_last4": "6789",
     "currency": "NGN"
    }
   },
   "BalanceEntry": {
    "type": "object",
    "properties": {
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "available": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "released, not paid out"
     },
     "pending_escrow": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "held on their bookings (gross)"
     },
     "in_flight": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "in a transfer not yet settled"
     },
     "total_earned": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "every release, net of the fee"
     }
    },
    "required": [
     "currency",
     "available",
     "pending_escrow",
     "in_flight",
     "total_earned"
    ]
   },
   "Balance": {
    "type": "object",
    "properties": {
     "provider_id": {
      "type": "string"
     },
     "balances": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/BalanceEntry"
      }
     }
    },
    "required": [
     "provider_id",
     "balances"
    ],
    "example": {
     "provider_id": "pr_bola",
     "balances": [
      {
       "currency": "NGN",
       "available": 0,
       "pending_escrow": 5000000,
       "in_flight": 0,
       "total_earned": 4750000
      }
     ]
    }
   },
   "WithdrawalRequest": {
    "type": "object",
    "properties": {
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 1
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     }
    },
    "required": [
     "amount",
     "currency"
    ],
    "example": {
     "amount": 1000000,
     "currency": "NGN"
    }
   },
   "Withdrawal": {
    "type": "object",
    "properties": {
     "withdrawal_id": {
      "type": "string"
     },
     "payout_id": {
      "type": "string",
      "pattern": "^[a-z0-9-]{16,50}$"
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": ""
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "status": {
      "type": "string",
      "enum": [
       "queued"
      ]
     }
    },
    "required": [
     "withdrawal_id",
     "payout_id",
     "amount",
     "currency",
     "status"
    ],
    "example": {
     "withdrawal_id": "wd-pr-bola-000001",
     "payout_id": "po-pr-bola-000002",
     "amount": 1000000,
     "currency": "NGN",
     "status": "queued"
    }
   },
   "PayoutPage": {
    "type": "object",
    "properties": {
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/Payout"
      }
     },
     "next_cursor": {
      "type": "string",
      "description": "pass as cursor for the next page; null on the last",
      "nullable": true
     }
    },
    "required": [
     "data",
     "next_cursor"
    ]
   },
   "FinalizeRequest": {
    "type": "object",
    "properties": {
     "otp": {
      "type": "string",
      "pattern": "^[0-9]{4,12}$"
     }
    },
    "required": [
     "otp"
    ],
    "example": {
     "otp": "123456"
    }
   },
   "FinalizedPayout": {
    "type": "object",
    "properties": {
     "payout_id": {
      "type": "string"
     },
     "provider_id": {
      "type": "string"
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": ""
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "status": {
      "type": "string",
      "enum": [
       "queued",
       "pending",
       "otp",
       "success",
       "failed",
       "reversed"
      ]
     },
     "transfer_code": {
      "type": "string"
     },
     "reason": {
      "type": "string"
     }
    },
    "required": [
     "payout_id",
     "provider_id",
     "amount",
     "currency",
     "status",
     "transfer_code",
     "reason"
    ],
    "example": {
     "payout_id": "po-pr-bola-000001",
     "provider_id": "pr_bola",
     "amount": 4750000,
     "currency": "NGN",
     "status": "success",
     "transfer_code": "TRF_1ptvuv321ahaa7q",
     "reason": ""
    }
   },
   "RetriedPayout": {
    "type": "object",
    "properties": {
     "payout_id": {
      "type": "string",
      "description": "also its (new) Paystack transfer reference",
      "pattern": "^[a-z0-9-]{16,50}$"
     },
     "provider_id": {
      "type": "string"
     },
     "reference": {
      "type": "string",
      "pattern": "^[a-z0-9-]{16,50}$"
     },
     "retry_of": {
      "type": "string",
      "description": "the failed or reversed payout"
     },
     "booking_id": {
      "type": "string",
      "nullable": true
     },
     "withdrawal_id": {
      "type": "string",
      "nullable": true
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "the failed payout's amount"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "status": {
      "type": "string",
      "enum": [
       "queued"
      ]
     },
     "attempt": {
      "type": "integer",
      "minimum": 2
     }
    },
    "required": [
     "payout_id",
     "provider_id",
     "reference",
     "retry_of",
     "booking_id",
     "withdrawal_id",
     "amount",
     "currency",
     "status",
     "attempt"
    ],
    "example": {
     "payout_id": "po-3f9a1c2b7d4e8a05-2",
     "provider_id": "pr_bola",
     "reference": "po-3f9a1c2b7d4e8a05-2",
     "retry_of": "po-3f9a1c2b7d4e8a05-1",
     "booking_id": "bk_2024_0001",
     "withdrawal_id": null,
     "amount": 4750000,
     "currency": "NGN",
     "status": "queued",
     "attempt": 2
    }
   },
   "RetriedRefund": {
    "type": "object",
    "properties": {
     "refund_id": {
      "type": "string"
     },
     "booking_id": {
      "type": "string"
     },
     "retry_of": {
      "type": "string",
      "description": "the failed refund"
     },
     "payment_reference": {
      "type": "string",
      "description": "the charge refunded"
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "the failed refund's amount"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "status": {
      "type": "string",
      "enum": [
       "queued"
      ]
     },
     "attempt": {
      "type": "integer",
      "minimum": 2
     }
    },
    "required": [
     "refund_id",
     "booking_id",
     "retry_of",
     "payment_reference",
     "amount",
     "currency",
     "status",
     "attempt"
    ],
    "example": {
     "refund_id": "rf-b1d20c7e55a9f3e4-2",
     "booking_id": "bk_2024_0001",
     "retry_of": "rf-b1d20c7e55a9f3e4-1",
     "payment_reference": "bk-b1d20c7e55a9f3e4-1-1",
     "amount": 5000000,
     "currency": "NGN",
     "status": "queued",
     "attempt": 2
    }
   },
   "DisputeSummary": {
    "type": "object",
    "properties": {
     "booking_id": {
      "type": "string"
     },
     "client_id": {
      "type": "string"
     },
     "provider_id": {
      "type": "string"
     },
     "amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "the booking's"
     },
     "currency": {
      "type": "string",
      "enum": [
       "NGN",
       "GHS",
       "ZAR",
       "KES",
       "USD"
      ],
      "description": "ISO 4217 code"
     },
     "held": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "in escrow now"
     },
     "reason": {
      "type": "string"
     },
     "description": {
      "type": "string"
     },
     "opened_by": {
      "type": "string"
     },
     "opened_by_role": {
      "type": "string"
     },
     "source": {
      "type": "string",
      "enum": [
       "party",
       "chargeback"
      ]
     },
     "status": {
      "type": "string",
      "enum": [
       "open",
       "resolved"
      ]
     },
     "outcome": {
      "type": "string",
      "enum": [
       "release",
       "refund",
       "split",
       null
      ],
      "nullable": true
     },
     "provider_amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "",
      "nullable": true
     },
     "refund_amount": {
      "type": "integer",
      "format": "int64",
      "minimum": 0,
      "description": "",
      "nullable": true
     },
     "note": {
      "type": "string",
      "nullable": true
     },
     "resolved_by": {
      "type": "string",
      "nullable": true
     },
     "opened_at": {
      "type": "string",
      "format": "date-time"
     },
     "resolved_at": {
      "type": "string",
      "format": "date-time",
      "nullable": true
     }
    },
    "required": [
     "booking_id",
     "client_id",
     "provider_id",
     "amount",
     "currency",
     "held",
     "reason",
     "status",
     "opened_at"
    ]
   },
   "DisputePage": {
    "type": "object",
    "properties": {
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/DisputeSummary"
      }
     },
     "next_cursor": {
      "type": "string",
      "description": "pass as cursor for the next page; null on the last",
      "nullable": true
     }
    },
    "required": [
     "data",
     "next_cursor"
    ]
   },
   "WebhookDelivery": {
    "type": "object",
    "properties": {
     "id": {
      "type": "integer",
      "format": "int64"
     },
     "event": {
      "type": "string",
      "example": "charge.success"
     },
     "reference": {
      "type": "string"
     },
     "status": {
      "type": "string",
      "enum": [
       "received",
       "processed",
       "failed",
       "ignored"
      ]
     },
     "attempts": {
      "type": "integer",
      "minimum": 0
     },
     "last_error": {
      "type": "string",
      "nullable": true
     },
     "received_at": {
      "type": "string",
      "format": "date-time"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time"
     },
     "payload": {
      "description": "the delivery as Paystack signed it (an object, or the raw text)"
     }
    },
    "required": [
     "id",
     "event",
     "reference",
     "status",
     "attempts",
     "last_error",
     "received_at",
     "updated_at",
     "payload"
    ],
    "example": {
     "id": 12,
     "event": "charge.success",
     "reference": "pay-bk-2024-0001-1-1",
     "status": "processed",
     "attempts": 1,
     "last_error": null,
     "received_at": "2026-01-05T10:02:00.000Z",
     "updated_at": "2026-01-05T10:02:00.000Z",
     "payload": {
      "event": "charge.success",
      "data": {
       "reference": "pay-bk-2024-0001-1-1",
       "amount": 5000000
      }
     }
    }
   },
   "WebhookDeliveryPage": {
    "type": "object",
    "properties": {
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/WebhookDelivery"
      }
     },
     "page": {
      "type": "integer",
      "minimum": 1
     },
     "limit": {
      "type": "integer",
      "minimum": 1
     },
     "total": {
      "type": "integer",
      "minimum": 0
     },
     "counts": {
      "type": "object",
      "additionalProperties": {
       "type": "integer"
      },
      "description": "deliveries by status"
     }
    },
    "required": [
     "data",
     "page",
     "limit",
     "total",
     "counts"
    ]
   },
   "WebhookAccepted": {
    "type": "object",
    "properties": {
     "status": {
      "type": "string",
      "enum": [
       "accepted"
      ]
     },
     "delivery_id": {
      "type": "integer",
      "format": "int64"
     },
     "duplicate": {
      "type": "boolean"
     }
    },
    "required": [
     "status",
     "delivery_id",
     "duplicate"
    ],
    "example": {
     "status": "accepted",
     "delivery_id": 12,
     "duplicate": false
    }
   },
   "Health": {
    "type": "object",
    "properties": {
     "status": {
      "type": "string",
      "enum": [
       "ok"
      ]
     }
    },
    "required": [
     "status"
    ],
    "example": {
     "status": "ok"
    }
   },
   "Readiness": {
    "type": "object",
    "properties": {
     "status": {
      "type": "string",
      "enum": [
       "ok",
       "unavailable"
      ]
     },
     "checks": {
      "type": "object",
      "properties": {
       "database_writable": {
        "type": "boolean"
       },
       "migrations_current": {
        "type": "boolean"
       },
       "store_ok": {
        "type": "boolean"
       }
      },
      "required": [
       "database_writable",
       "migrations_current",
       "store_ok"
      ]
     }
    },
    "required": [
     "status",
     "checks"
    ],
    "example": {
     "status": "ok",
     "checks": {
      "database_writable": true,
      "migrations_current": true,
      "store_ok": true
     }
    }
   }
  },
  "parameters": {
   "BookingId": {
    "name": "id",
    "in": "path",
    "required": true,
    "schema": {
     "type": "string",
     "pattern": "^[A-Za-z0-9_-]{1,64}$"
    },
    "description": "booking id"
   },
   "ProviderId": {
    "name": "id",
    "in": "path",
    "required": true,
    "schema": {
     "type": "string"
    },
    "description": "provider id"
   },
   "PayoutId": {
    "name": "id",
    "in": "path",
    "required": true,
    "schema": {
     "type": "string"
    },
    "description": "payout id (its transfer reference)"
   },
   "RefundId": {
    "name": "id",
    "in": "path",
    "required": true,
    "schema": {
     "type": "string"
    },
    "description": "refund id (as in the booking's refunds[])"
   },
   "IdempotencyKey": {
    "name": "Idempotency-Key",
    "in": "header",
    "required": false,
    "schema": {
     "type": "string",
     "minLength": 1,
     "maxLength": 255
    },
    "description": "Same key + actor + route + body replays the stored response (Idempotent-Replayed: true); another body is 422; still in flight is 409."
   },
   "Limit": {
    "name": "limit",
    "in": "query",
    "schema": {
     "type": "integer",
     "minimum": 1,
     "maximum": 200,
     "default": 50
    }
   },
   "Cursor": {
    "name": "cursor",
    "in": "query",
    "schema": {
     "type": "string"
    },
    "description": "next_cursor of the previous page"
   }
  },
  "responses": {
   "BadRequest": {
    "description": "invalid input; nothing changed",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      },
      "example": {
       "error": {
        "code": "invalid_field",
        "message": "amount must be a positive integer"
       }
      }
     }
    }
   },
   "Unauthorized": {
    "description": "no or invalid bearer token",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      },
      "example": {
       "error": {
        "code": "unauthorized",
        "message": "The bearer token has expired."
       }
      }
     }
    }
   },
   "Forbidden": {
    "description": "not allowed for this actor",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      },
      "example": {
       "error": {
        "code": "not_allowed",
        "message": "This actor may not do this to this booking."
       }
      }
     }
    }
   },
   "NotFound": {
    "description": "unknown booking, provider or resource",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      },
      "example": {
       "error": {
        "code": "booking_not_found",
        "message": "No booking has this id."
       }
      }
     }
    }
   },
   "Conflict": {
    "description": "conflicts with the current state (dispute_open, already_released, nothing_due, proof_required, insufficient_balance, ...)",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      },
      "example": {
       "error": {
        "code": "already_released",
        "message": "The money of this booking was already released."
       }
      }
     }
    }
   },
   "TooLarge": {
    "description": "body over its limit (JSON 1 MiB, uploads 50 MiB)",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      },
      "example": {
       "error": {
        "code": "body_too_large",
        "message": "The request body is too large."
       }
      }
     }
    }
   },
   "UnsupportedMediaType": {
    "description": "wrong Content-Type",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      },
      "example": {
       "error": {
        "code": "unsupported_media_type",
        "message": "Send application/json."
       }
      }
     }
    }
   },
   "KeyReused": {
    "description": "Idempotency-Key reused with a different request",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      },
      "example": {
       "error": {
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was used for another request."
       }
      }
     }
    }
   },
   "RateLimited": {
    "description": "rate limited; retry after Retry-After seconds",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      },
      "example": {
       "error": {
        "code": "rate_limited",
        "message": "Too many requests."
       }
      }
     }
    }
   },
   "BadGateway": {
    "description": "Paystack unavailable or refused",
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Error"
      },
      "example": {
       "error": {
        "code": "paystack_unavailable",
        "message": "Paystack did not answer; try again."
       }
      }
     }
    }
   }
  }
 }
})openapi";

}  // namespace

std::string_view openapi_document() { return document; }

}  // namespace escrow::api
