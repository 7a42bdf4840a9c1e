@xml
Feature: Responses in XML
  With Format=XML a success body is rooted at <Action + "Response"> (the official documentation:
  "<接口名称+Response>"), arrays are repeated elements in their container, and an error body is
  rooted at <Error>, as the real gateway sends it.

  Background:
    Given a fresh application
    And responses are requested in XML

  @core
  Scenario: a push answers under <PushApplicationDataResponse>
    When I push the data files:
      | name  | version |
      | app01 | 1.0     |
      | app02 | 1.1     |
    Then the request succeeds
    And the response is XML with the root element "PushApplicationDataResponse"
    And there is one push result per data file
    And every ResultCode is 0

  @core
  Scenario: DescribeDataPushResult answers under <DescribeDataPushResultResponse>
    When I push "app01" version "1.0"
    And I describe the push results
    Then the request succeeds
    And the response is XML with the root element "DescribeDataPushResultResponse"
    And the described data files are "app01 1.0"

  @extended
  Scenario: an error answers under <Error>
    When I push with the Data:
      """
      not JSON
      """
    Then the request fails with HTTP 400 and code "InvalidParameter.Data"
    And the response is XML with the root element "Error"
    And the error has the string fields RequestId, HostId, Code, Message and Recommend

  @core @auth
  Scenario: a permission refusal in XML
    Given the client uses the denied credentials
    When I push "app01" version "1.0"
    Then the request is refused for lack of permission
    And the response is XML with the root element "Error"
    And the error has the string fields RequestId, HostId, Code, Message and Recommend

  @extended @auth
  Scenario: NoPermission in XML
    Given the client uses the denied credentials
    When I push "app01" version "1.0"
    Then the request fails with HTTP 400 and code "NoPermission"
    And the error message is "Permission denied."
