module PushGuard
  # An answer of 400 to 599, with what the API said: its message, each problem in
  # `errors` (validation), the status and the answer's headers.
  class Error < StandardError
    attr_reader :status, :errors, :body, :headers

    def initialize(message, status: nil, errors: [], body: nil, headers: {})
      super(message)
      @status = status
      @errors = errors
      @body = body
      @headers = headers
    end

    # The error class for `status`.
    def self.for_status(status)
      case status
      when 400 then InvalidRequestError
      when 401 then AuthenticationError
      when 403 then PermissionError
      when 404 then NotFoundError
      when 409 then ConflictError
      when 422 then UnprocessableError
      when 429 then RateLimitError
      else APIError
      end
    end
  end

  class InvalidRequestError < Error; end
  class AuthenticationError < Error; end
  class PermissionError < Error; end
  class NotFoundError < Error; end
  class ConflictError < Error; end
  class UnprocessableError < Error; end
  class RateLimitError < Error; end
  class APIError < Error; end
  # No answer: the connection failed or timed out, on every try.
  class ConnectionError < Error; end
  # A webhook whose signature does not verify, or is too old.
  class SignatureVerificationError < Error; end
end
