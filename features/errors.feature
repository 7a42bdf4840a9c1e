@errors
Feature: Errors use the gateway's envelope and HTTP status
  Every error body carries RequestId, HostId, Code, Message and Recommend, all strings (the
  classic Go SDK panics on anything else), and the HTTP status tells an error from a success:
  both official Go SDKs decide "error" from the status alone. Where the official documents give
  more than one status or code for a case, a @core scenario accepts each of them.

  Background:
    Given a fresh application

  @core
  Scenario: the error envelope has string fields
    When I call PushApplicationData without the AppId parameter
    Then the request fails with HTTP 400 and code "MissingParameter" or "MissingAppId" or "InvalidParameter.AppId"
    And the error has the string fields RequestId, HostId, Code, Message and Recommend

  @extended
  Scenario: the error's RequestId is the x-acs-request-id header
    When I push with the Data:
      """
      not JSON
      """
    Then the request fails with HTTP 400 and code "InvalidParameter.Data"
    And the RequestId in the body matches the x-acs-request-id header, if there is one

  @extended
  Scenario: a success's RequestId is the x-acs-request-id header
    When I push "app01" version "1.0"
    Then the request succeeds
    And the RequestId in the body matches the x-acs-request-id header, if there is one

  @core @auth
  Scenario: a credential whose policy lacks ens:PushApplicationData is refused
    The API's page lists HTTP 400 NoPermission "Permission denied."; the gateway's RAM denial is
    HTTP 403 Forbidden.RAM. Either is right.

    Given the client uses the denied credentials
    When I push "app01" version "1.0"
    Then the request is refused for lack of permission
    And no data file is described

  @extended @auth
  Scenario: a credential whose policy lacks ens:PushApplicationData gets NoPermission
    Given the client uses the denied credentials
    When I push "app01" version "1.0"
    Then the request fails with HTTP 400 and code "NoPermission"
    And the error message is "Permission denied."

  @core @auth
  Scenario: a request without any signature parameter is refused
    When I push "app01" version "1.0" without any signature parameter
    Then the request is refused with an HTTP 4xx error
    And the error has the string fields RequestId, HostId, Code, Message and Recommend
    And no data file is described

  @core @auth
  Scenario: an unknown AccessKeyId is refused
    Given the client uses an unknown AccessKeyId
    When I push "app01" version "1.0"
    Then the request fails with HTTP 404 or 400 and code "InvalidAccessKeyId.NotFound" or "InvalidAccessKeyId"

  @core @auth
  Scenario: a request signed with the wrong secret is refused
    Given the client signs with a wrong AccessKeySecret
    When I push "app01" version "1.0"
    Then the request fails with HTTP 400 or 403 and code "SignatureDoesNotMatch"
    And no data file is described

  @core @auth
  Scenario: a request older than 15 minutes is refused
    Given the request time is 30 minutes in the past
    When I push "app01" version "1.0"
    Then the request fails with HTTP 400 and code "InvalidTimeStamp.Expired"
    And no data file is described

  @core @auth
  Scenario: a signature nonce cannot be used twice
    When I push "app01" version "1.0"
    Then the request succeeds
    When I send exactly the same request again
    Then the request fails with HTTP 400 and code "SignatureNonceUsed"

  @extended
  Scenario: an unknown action answers InvalidAction.NotFound
    When I call the action "PushApplicationDatum"
    Then the request fails with HTTP 404 and code "InvalidAction.NotFound"

  @extended
  Scenario: an unknown API version answers InvalidVersion
    When I push "app01" version "1.0" with the API version "2099-01-01"
    Then the request fails with HTTP 400 and code "InvalidVersion"
    And no data file is described

  @extended
  Scenario Outline: <code> answers HTTP <status> with the full envelope (<format>)
    Given responses are requested in <format>
    When I send a request that provokes <code>
    Then the request fails with HTTP <status> and code "<code>"
    And the error has the string fields RequestId, HostId, Code, Message and Recommend

    Examples: JSON
      | code                        | status | format |
      | MissingParameter            | 400    | JSON   |
      | InvalidParameter.Data       | 400    | JSON   |
      | NoPermission                | 400    | JSON   |
      | InvalidAccessKeyId.NotFound | 404    | JSON   |
      | SignatureDoesNotMatch       | 400    | JSON   |
      | InvalidTimeStamp.Expired    | 400    | JSON   |
      | SignatureNonceUsed          | 400    | JSON   |
      | InvalidAction.NotFound      | 404    | JSON   |
      | InvalidVersion              | 400    | JSON   |

    @xml
    Examples: XML
      | code                        | status | format |
      | MissingParameter            | 400    | XML    |
      | InvalidParameter.Data       | 400    | XML    |
      | NoPermission                | 400    | XML    |
      | InvalidAccessKeyId.NotFound | 404    | XML    |
      | SignatureDoesNotMatch       | 400    | XML    |
      | InvalidTimeStamp.Expired    | 400    | XML    |
      | SignatureNonceUsed          | 400    | XML    |
      | InvalidAction.NotFound      | 404    | XML    |
      | InvalidVersion              | 400    | XML    |

  @extended @strict
  Scenario Outline: a strict mock answers InvalidParameter.AppId with the full envelope (<format>)
    Given responses are requested in <format>
    When I send a request that provokes InvalidParameter.AppId
    Then the request fails with HTTP 400 and code "InvalidParameter.AppId"
    And the error has the string fields RequestId, HostId, Code, Message and Recommend

    Examples:
      | format |
      | JSON   |
      | XML    |
