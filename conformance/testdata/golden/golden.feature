@golden
Feature: A fixed subset for the formatter golden files
  Real steps against the mock: passing scenarios, an outline, and one scenario
  that fails on purpose (it checks an answer before sending any request).

  Background:
    Given a fresh application

  Scenario: a fresh push answers ResultCode 0
    When I push "app01" version "1.0"
    Then the request succeeds
    And the ResultCode of "app01" is 0

  Scenario Outline: <parameter> is required
    When I call PushApplicationData without the <parameter> parameter
    Then the request fails with HTTP 400 and code "MissingParameter"

    Examples:
      | parameter |
      | AppId     |
      | Data      |

  Scenario: a check before any request fails
    Then the request succeeds
