# PushGuard's API from Ruby, as the original API's docs write it:
#
#   require 'PushGuard'
#   PushGuard.api_key = 'api key'
#   PushGuard.api_email = 'email'
#   PushGuard::Orders.list(page: 10, per_page: 50)
#   PushGuard::Products.create(title: 'Example product', price: '9.99', currency: 'USD', gateways: ['paypal'])
#   PushGuard::Webhooks::Endpoints.list
#
# Every operation of the API is a method of its resource's module (the table in
# pushguard/operations.rb is generated from the API's OpenAPI document), and each call
# retries 429, 503 and connection failures (honouring Retry-After), sends an
# Idempotency-Key with every POST (the same one on its retries), and raises
# PushGuard::Error with the API's message and errors.

require "base64"
require "json"
require "net/http"
require "openssl"
require "securerandom"
require "uri"

require_relative "pushguard/version"
require_relative "pushguard/errors"
require_relative "pushguard/operations"
require_relative "pushguard/client"
require_relative "pushguard/list"
require_relative "pushguard/resources"
require_relative "pushguard/webhooks"

module PushGuard
  DEFAULT_API_BASE = "https://pushguard.net/api/v2"

  class << self
    # The account's email (Basic authentication, as the original API) and an API key;
    # without an email the key is sent as a Bearer token.
    attr_accessor :api_key, :api_email
    # Where the API is: https://pushguard.net/api/v2, or PUSHGUARD_API_BASE.
    attr_accessor :api_base
    # A key made with require_signed: true: its signing_secret signs every request.
    attr_accessor :signing_secret
    # Seconds to connect and to wait for an answer.
    attr_accessor :open_timeout, :read_timeout
    # Tries after the first on 429, 503 and connection failures.
    attr_accessor :max_retries
    # Accept-Language for the API's messages: "en" or "es".
    attr_accessor :language
    # X-Child-Company-Id: act for one of the account's child accounts.
    attr_accessor :child_company_id

    # The client the module-level calls use, made from the settings above.
    def client
      Client.new(
        api_key: api_key, api_email: api_email, api_base: api_base,
        signing_secret: signing_secret, open_timeout: open_timeout,
        read_timeout: read_timeout, max_retries: max_retries, language: language,
        child_company_id: child_company_id
      )
    end
  end

  self.api_base = ENV.fetch("PUSHGUARD_API_BASE", DEFAULT_API_BASE)
  self.open_timeout = 10
  self.read_timeout = 30
  self.max_retries = 3
end
