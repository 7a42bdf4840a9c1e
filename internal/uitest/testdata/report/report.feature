@report
Feature: A small run for the HTML report
  Real steps against a mock whose PushApplicationData answers are rewritten,
  so that some scenarios fail on an answer (with the request and response).

  Background:
    Given a fresh application

  @push
  Scenario: a fresh push answers ResultCode 0
    When I push "app01" version "1.0"
    Then the request succeeds
    And the ResultCode of "app01" is 0

  @push @known
  Scenario: a known failure is marked
    When I push "app02" version "1.0"
    Then the ResultCode of "app02" is 0

  @push
  Scenario: a broken answer fails with its exchange
    When I push "app03" version "1.0"
    Then the ResultCode of "app03" is 0

  @params
  Scenario Outline: <parameter> is required
    When I call PushApplicationData without the <parameter> parameter
    Then the request fails with HTTP 400 and code "MissingParameter"

    Examples:
      | parameter |
      | AppId     |
      | Data      |

  @params
  Scenario: <script>document.title='pwned'</script> stays text
    When I call PushApplicationData without the AppId parameter
    Then the request fails with HTTP 400 and code "MissingParameter"
