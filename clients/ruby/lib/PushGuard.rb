# `require 'PushGuard'`, as the original API's docs write it.
require_relative "pushguard"
