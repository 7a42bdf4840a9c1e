@validation @describe
Feature: DescribeDataPushResult validates its parameters
  AppId is required. PageNumber starts at 1 (the metadata's "minimum: 1"). MinDate and MaxDate
  are dates in the format 2006-01-02. The official metadata lists "MissingParameter",
  "InvalidParameter" and "InvalidParameter.%s" (all HTTP 400) among this API's errors.

  Background:
    Given a fresh application

  @core
  Scenario: AppId is required by DescribeDataPushResult
    When I call DescribeDataPushResult without the AppId parameter
    Then the request fails with HTTP 400 and code "MissingParameter" or "MissingAppId" or "InvalidParameter.AppId"

  @core
  Scenario Outline: PageNumber <value> is refused
    When I call DescribeDataPushResult with:
      | PageNumber | <value> |
    Then the request fails with HTTP 400 and an InvalidParameter code

    Examples:
      | value |
      | 0     |
      | abc   |

  @extended
  Scenario Outline: <parameter>=<value> answers InvalidParameter.<parameter>
    When I call DescribeDataPushResult with:
      | <parameter> | <value> |
    Then the request fails with HTTP 400 and code "InvalidParameter.<parameter>"

    Examples:
      | parameter  | value      |
      | PageNumber | 0          |
      | PageNumber | abc        |
      | MinDate    | 2022/02/15 |
      | MinDate    | yesterday  |
      | MaxDate    | 15-02-2022 |

  @extended @strict
  Scenario: a strict mock refuses a PageSize over 1000
    When I call DescribeDataPushResult with:
      | PageSize | 1001 |
    Then the request fails with HTTP 400 and code "InvalidParameter.PageSize"

  @extended
  Scenario: a well-formed query of an application that has no data answers an empty list
    When I call DescribeDataPushResult with:
      | PageNumber | 1          |
      | PageSize   | 10         |
      | MinDate    | 2022-02-15 |
    Then the request succeeds
    And the answer describes no data file

  @extended @strict
  Scenario: a strict mock refuses PageSize=0
    When I call DescribeDataPushResult with:
      | PageSize | 0 |
    Then the request fails with HTTP 400 and code "InvalidParameter.PageSize"
