module PushGuard
  # Checking a delivery before trusting it, in each of the three ways PushGuard signs:
  #
  # - valid_signature?: the original API's X-PushGuard-Signature, hex HMAC-SHA512 of the
  #   body keyed with the endpoint's secret. Sign the raw body you received, byte for
  #   byte, never `payload.to_json`: JSON written again may differ (spacing, key order,
  #   escapes, number formats) and then a genuine delivery fails, or worse, two bodies
  #   that parse alike verify alike. It has no timestamp, so a captured delivery can be
  #   sent again: prefer verify.
  # - verify: Standard Webhooks v1 (webhook-id, webhook-timestamp, webhook-signature),
  #   HMAC-SHA256 of "id.timestamp.body", refusing a timestamp more than 5 minutes off.
  # - verify_v1a: the same message signed with the account's ed25519 key, checked with
  #   its published public keys (fetched without an API key and kept 5 minutes).
  module Webhooks
    TOLERANCE = 300
    PUBLIC_KEYS_TTL = 300
    # What a thin payload's resource.type names, and the resource to read it from.
    RESOURCES = {
      "order" => "Orders", "product" => "Products", "category" => "Categories",
      "feedback" => "Feedback", "query" => "Queries", "blacklist" => "Blacklists"
    }.freeze
    # DER of an ed25519 SubjectPublicKeyInfo, before the key's 32 bytes.
    ED25519_PREFIX = ["302a300506032b6570032100"].pack("H*").freeze

    @public_keys = {}
    @public_keys_lock = Mutex.new

    class << self
      # The original API's check: `signature` is X-PushGuard-Signature, `secret` the
      # endpoint's (whsec_...). Compared in constant time.
      def valid_signature?(raw_body, signature, secret)
        return false unless signature.is_a?(String) && secret.is_a?(String)

        expected = OpenSSL::HMAC.hexdigest("SHA512", secret, raw_body.to_s)
        OpenSSL.secure_compare(expected, signature)
      end

      # Standard Webhooks v1: the parsed event, or SignatureVerificationError.
      # `headers` may be a Hash in any case, or a Rack env (HTTP_WEBHOOK_ID).
      def verify(raw_body, headers, secret:, tolerance: TOLERANCE, now: Time.now)
        id, timestamp, signatures = parts(headers, tolerance, now)
        key = Base64.decode64(secret.to_s.delete_prefix("whsec_"))
        expected = Base64.strict_encode64(OpenSSL::HMAC.digest("SHA256", key, "#{id}.#{timestamp}.#{raw_body}"))
        valid = signatures.any? do |entry|
          version, signature = entry.split(",", 2)
          version == "v1" && OpenSSL.secure_compare(expected, signature.to_s)
        end
        raise SignatureVerificationError.new("No v1 signature matches the secret") unless valid

        JSON.parse(raw_body)
      end

      # v1a (ed25519): the parsed event, or SignatureVerificationError. The keys are
      # `public_keys` ("whpk_..."), or the account's, fetched and kept 5 minutes.
      def verify_v1a(raw_body, headers, public_keys: nil, account_id: nil, mode: nil,
                     tolerance: TOLERANCE, now: Time.now, client: PushGuard.client)
        id, timestamp, signatures = parts(headers, tolerance, now)
        keys = public_keys || published_keys(account_id, mode: mode, client: client)
        message = "#{id}.#{timestamp}.#{raw_body}"
        valid = signatures.any? do |entry|
          version, signature = entry.split(",", 2)
          version == "v1a" && keys.any? { |key| ed25519_verifies?(key, signature.to_s, message) }
        end
        raise SignatureVerificationError.new("No v1a signature matches the account's public keys") unless valid

        JSON.parse(raw_body)
      end

      # The account's published public keys ("whpk_..."), of one mode if given.
      def published_keys(account_id, mode: nil, client: PushGuard.client)
        raise ArgumentError, "account_id: whose keys?" if account_id.to_s.empty?

        cached = @public_keys_lock.synchronize { @public_keys[account_id] }
        if cached.nil? || cached[:until] < Time.now
          answer = PublicKeys.retrieve(account_id, client: client)
          cached = { keys: answer["keys"], until: Time.now + PUBLIC_KEYS_TTL }
          @public_keys_lock.synchronize { @public_keys[account_id] = cached }
        end
        cached[:keys].select { |key| mode.nil? || key["mode"] == mode.to_s }.map { |key| key["key"] }
      end

      # A thin delivery's object as it is now: the event's resource read with the
      # client's key (nil when the event names none, as a ping).
      def fetch_resource(event, client: PushGuard.client)
        resource = event["resource"]
        return nil unless resource.is_a?(Hash)

        name = RESOURCES.fetch(resource["type"]) { raise ArgumentError, "no resource for #{resource['type']}" }
        PushGuard.const_get(name).retrieve(resource["id"], client: client)
      end

      private

      def header(headers, name)
        headers.each do |key, value|
          normal = key.to_s.downcase.delete_prefix("http_").tr("_", "-")
          return value.to_s if normal == name
        end
        nil
      end

      def parts(headers, tolerance, now)
        id = header(headers, "webhook-id")
        timestamp = header(headers, "webhook-timestamp")
        signatures = header(headers, "webhook-signature").to_s.split(" ")
        raise SignatureVerificationError.new("Missing webhook-id, webhook-timestamp or webhook-signature") if id.nil? || timestamp.nil? || signatures.empty?
        raise SignatureVerificationError.new("webhook-timestamp is not a number") unless timestamp.match?(/\A\d+\z/)
        raise SignatureVerificationError.new("webhook-timestamp is too old or in the future: a replay?") if (now.to_i - timestamp.to_i).abs > tolerance

        [id, timestamp, signatures]
      end

      def ed25519_verifies?(public_key, signature, message)
        raw = Base64.strict_decode64(public_key.delete_prefix("whpk_"))
        key = OpenSSL::PKey.read(ED25519_PREFIX + raw)
        key.verify(nil, Base64.strict_decode64(signature), message)
      rescue ArgumentError, OpenSSL::PKey::PKeyError
        false
      end
    end
  end
end
