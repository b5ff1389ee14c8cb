module PushGuard
  # One set of credentials and settings. The module-level calls use PushGuard.client;
  # pass `client:` to any of them to use another (another account, a child account).
  class Client
    RETRIED = [429, 502, 503, 504].freeze
    NETWORK = [
      Errno::ECONNREFUSED, Errno::ECONNRESET, Errno::EPIPE, Errno::EHOSTUNREACH,
      Net::OpenTimeout, Net::ReadTimeout, EOFError, IOError, SocketError, OpenSSL::SSL::SSLError
    ].freeze
    # The longest wait between tries, whatever Retry-After says.
    MAX_WAIT = 60

    attr_reader :api_base, :max_retries

    def initialize(api_key:, api_email: nil, api_base: PushGuard::DEFAULT_API_BASE,
                   signing_secret: nil, open_timeout: 10, read_timeout: 30, max_retries: 3,
                   language: nil, child_company_id: nil)
      @api_key = api_key
      @api_email = api_email
      @api_base = api_base.to_s.chomp("/")
      @signing_secret = signing_secret
      @open_timeout = open_timeout
      @read_timeout = read_timeout
      @max_retries = max_retries
      @language = language
      @child_company_id = child_company_id
    end

    # Calls `operation` (an entry of OPERATIONS) with its path's `args` and `params`
    # (the JSON body, or the query of a GET or DELETE): [answer, headers].
    def call(operation, args, params)
      raise ArgumentError, "#{operation[:id]} takes #{operation[:params].join(', ')}" if args.size != operation[:params].size

      path = operation[:path].sub(%r{\A/api/v2}, "")
      operation[:params].zip(args).each do |name, value|
        path = path.sub("{#{name}}", URI.encode_www_form_component(value.to_s))
      end
      if operation[:body]
        request(operation[:method], path, body: params)
      else
        request(operation[:method], path, query: params)
      end
    end

    # `method` on `path` (below api_base, or a path the API gave, such as a Link):
    # [answer, headers], retried as the module's notes say.
    def request(method, path, query: {}, body: nil)
      uri = URI(path.start_with?("/api/") ? origin + path : api_base + path)
      uri.query = [uri.query, URI.encode_www_form(compact(query))].compact.reject(&:empty?).join("&") unless query.nil? || query.empty?
      text = body.nil? ? nil : JSON.generate(compact(body))
      idempotency_key = method == :post ? SecureRandom.uuid : nil
      tries = 0
      loop do
        tries += 1
        begin
          response = send_once(method, uri, text, idempotency_key)
        rescue *NETWORK => e
          raise ConnectionError.new("#{method.upcase} #{uri.path}: #{e.class}: #{e.message}") if tries > max_retries

          sleep(backoff(tries))
          next
        end
        status = response.code.to_i
        if RETRIED.include?(status) && tries <= max_retries
          sleep(wait_for(response, tries))
          next
        end
        return answer(response, status)
      end
    end

    private

    def origin
      URI(api_base).then { |u| "#{u.scheme}://#{u.host}#{":#{u.port}" unless u.port == u.default_port}" }
    end

    def compact(params)
      params.to_h.transform_keys(&:to_s).reject { |_, value| value.nil? }
    end

    def send_once(method, uri, text, idempotency_key)
      request = Net::HTTP.const_get(method.to_s.capitalize).new(uri)
      request["Accept"] = "application/json"
      request["User-Agent"] = "pushguard-ruby/#{PushGuard::VERSION}"
      request["Authorization"] = authorization
      request["Accept-Language"] = @language if @language
      request["X-Child-Company-Id"] = @child_company_id if @child_company_id
      request["Idempotency-Key"] = idempotency_key if idempotency_key
      if text
        request["Content-Type"] = "application/json"
        request.body = text
      end
      sign(request, method, uri, text) if @signing_secret
      Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == "https",
                                          open_timeout: @open_timeout, read_timeout: @read_timeout) do |http|
        http.request(request)
      end
    end

    def authorization
      raise AuthenticationError.new("No API key: set PushGuard.api_key") if @api_key.to_s.empty?

      if @api_email
        "Basic #{Base64.strict_encode64("#{@api_email}:#{@api_key}")}"
      else
        "Bearer #{@api_key}"
      end
    end

    # The API's request signature: hex HMAC-SHA256 with the signing secret of the
    # timestamp, method, path, query and the body's hex SHA-256, one per line.
    def sign(request, method, uri, text)
      timestamp = (Time.now.to_f * 1000).to_i.to_s
      digest = OpenSSL::Digest::SHA256.hexdigest(text || "")
      signed = [timestamp, method.to_s.upcase, uri.path, uri.query.to_s, digest].join("\n")
      request["X-PushGuard-Timestamp"] = timestamp
      request["X-PushGuard-Sign"] = OpenSSL::HMAC.hexdigest("SHA256", @signing_secret, signed)
    end

    def backoff(tries)
      [0.5 * (2**(tries - 1)), MAX_WAIT].min * (0.8 + (rand * 0.4))
    end

    def wait_for(response, tries)
      after = response["Retry-After"]
      seconds = after&.match?(/\A\d+\z/) ? after.to_i : nil
      seconds ? [seconds, MAX_WAIT].min : backoff(tries)
    end

    def answer(response, status)
      headers = response.each_header.to_h
      parsed = response.body.to_s.empty? ? nil : parse(response.body)
      return [parsed, headers] if status < 400

      message = parsed.is_a?(Hash) ? parsed["message"] : nil
      raise Error.for_status(status).new(
        message || "HTTP #{status}", status: status,
                                     errors: parsed.is_a?(Hash) ? Array(parsed["errors"]) : [],
                                     body: parsed, headers: headers
      )
    end

    def parse(text)
      JSON.parse(text)
    rescue JSON::ParserError
      text
    end
  end
end
