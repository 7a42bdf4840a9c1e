@parameters
Feature: Every documented parameter, by each HTTP method, in the query and in a form body
  The official metadata lists the parameters of each action, all "in: query", and the methods
  each accepts: POST and GET for PushApplicationData and DescribeDataPushResult, GET only for
  DescribeDataDownloadURL. The RPC gateway reads parameters from the query and from an
  application/x-www-form-urlencoded body alike. Run with --signing v1 and v3 to cover both
  signature versions (the selftest does).

  Background:
    Given a fresh application
    And the target's regions are known

  @core
  Scenario Outline: PushApplicationData takes every documented parameter by <method> in the <placement>
    When I call PushApplicationData with every documented parameter by <method> in the <placement>
    Then the request succeeds
    And there is one push result per data file
    And the ResultCode of "app01" is 0
    And "app01" version "1.0" is described in exactly the regions "{region1}"

    Examples:
      | method | placement |
      | GET    | query     |
      | POST   | query     |
      | POST   | form body |

  @core
  Scenario Outline: DescribeDataPushResult takes every documented parameter by <method> in the <placement>
    When I push "app01" version "1.0"
    And I call DescribeDataPushResult with every documented parameter by <method> in the <placement>
    Then the request succeeds
    And the described data files are "app01 1.0"
    And only the regions "{region1}" are described

    Examples:
      | method | placement |
      | GET    | query     |
      | POST   | query     |
      | POST   | form body |

  @core @download
  Scenario: DescribeDataDownloadURL takes every documented parameter by GET in the query
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I call DescribeDataDownloadURL with every documented parameter by GET in the query
    Then the request succeeds
    And the answer has a download URL and at least one file server with a Host and a RegionId
    And every listed file server is in the regions "{region1}"
