@dist
Feature: DistApplicationData distributes pushed data to the application's instances
  The official metadata: DistApplicationData takes AppId, Data (a JSON array of data files) and
  DistStrategy (a canary strategy, by default every instance) and answers DistInstanceIds,
  DistInstanceTotalCount and one DistResult per data file (Name, Version, ResultCode,
  ResultDescrip). DescribeDataDistResult answers DistResults.DistResult[] with Name, Version and
  StatusStats (a lower-case s, unlike DescribeDataPushResult's StatusStatS).StatusStat[] with
  Status (SUCCESS, FAILED, DISTING, POD_RESTARTING, DELETED), InstanceCount (a string) and
  Instances.Instance[]; EnsRegionIds is one JSON-encoded parameter.

  Background:
    Given the target's regions are known
    And the target has at least 2 regions
    And an application with the instances:
      | region    | count |
      | {region1} | 2     |
      | {region2} | 1     |

  @core @validation
  Scenario Outline: <parameter> is required by DistApplicationData
    When I distribute "app01" version "1.0" without the <parameter> parameter
    Then the request fails with HTTP 400 and code "MissingParameter" or "Missing<parameter>" or "InvalidParameter.<parameter>"

    Examples:
      | parameter |
      | AppId     |
      | Data      |

  @core @validation
  Scenario: AppId is required by DescribeDataDistResult
    When I call DescribeDataDistResult without the AppId parameter
    Then the request fails with HTTP 400 and code "MissingParameter" or "MissingAppId" or "InvalidParameter.AppId"

  @core @validation
  Scenario: Data must be a JSON array string
    When I call DistApplicationData with:
      | Data | not json |
    Then the request fails with HTTP 400 and an InvalidParameter code

  @core
  Scenario: pushed data is distributed to every instance of the application
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0"
    Then the request succeeds
    And there is one DistResult per data file
    And the DistInstanceTotalCount is the number of DistInstanceIds
    When "app01" version "1.0" has been distributed to every target instance
    Then "app01" version "1.0" is SUCCESS on exactly the distributed instances

  @core
  Scenario: DescribeDataDistResult spells StatusStats with a lower-case s and InstanceCount as a string
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0"
    And I call DescribeDataDistResult with:
      | DataNames  | {app01} |
      | PageNumber | 1       |
      | PageSize   | 10      |
    Then the request succeeds
    And the dist results have the documented shape

  @core @xml
  Scenario: DescribeDataDistResult in XML repeats its elements in their containers
    Given responses are requested in XML
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0"
    And I call DescribeDataDistResult with:
      | DataNames | {app01} |
    Then the response is XML with the root element "DescribeDataDistResultResponse"
    And the dist results have the documented shape

  @core
  Scenario: EnsRegionIds is one JSON-encoded parameter
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0"
    And I call DescribeDataDistResult with:
      | EnsRegionIds | ["{region2}"] |
    Then the request succeeds
    And the dist results have the documented shape

  @extended @describe
  Scenario: EnsRegionIds filters the described instances by edge node
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0"
    And I call DescribeDataDistResult with:
      | EnsRegionIds | ["{region2}"] |
    Then the request succeeds
    And only the instances in "{region2}" are described

  @extended @describe
  Scenario: InstanceIds filters the described instances
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0"
    And I describe the dist results with:
      | InstanceIds | {instance1} |
    Then the request succeeds
    And only the instances "{instance1}" are described

  @extended
  Scenario: data that was never pushed is not distributed
    When I distribute "app01" version "1.0"
    Then the request succeeds
    And the DistResult of "app01" has ResultCode 400
    And no dist result is described

  @extended @control
  Scenario: data that no file server holds is not distributed
    Given the transfers of "app01" are corrupted
    When I push "app01" version "1.0"
    And "app01" version "1.0" has finished pushing
    And I distribute "app01" version "1.0"
    Then the DistResult of "app01" has ResultCode 400
    And no dist result is described

  @extended @strategy
  Scenario: a canary by edge node distributes only to the instances there
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0" with the strategy:
      """
      {"name":"ScheduleToAllByMatchExpressions","parameters":{"match_expressions":[{"key":"region_id","operator":"In","values":["{region2}"]}]}}
      """
    Then the request succeeds
    And the distributed instances are the instances in "{region2}"
    When I describe the dist results
    Then only the instances in "{region2}" are described

  @extended @strategy
  Scenario: a canary by instance distributes only to the listed instance
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0" with the strategy:
      """
      {"name":"ScheduleToAllByMatchExpressions","parameters":{"match_expressions":[{"key":"instance_id","operator":"In","values":["{instance1}"]}]}}
      """
    Then the request succeeds
    And the distributed instances are "{instance1}"

  @extended
  Scenario: the dist lifecycle: DISTING, then SUCCESS, and a canary then the rest
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0" with the strategy:
      """
      {"name":"ScheduleToAllByMatchExpressions","parameters":{"match_expressions":[{"key":"region_id","operator":"In","values":["{region2}"]}]}}
      """
    Then "app01" version "1.0" is DISTING on exactly the distributed instances
    When "app01" version "1.0" has been distributed to every target instance
    And I distribute "app01" version "1.0"
    Then the DistInstanceTotalCount is 3
    When "app01" version "1.0" has been distributed to every target instance
    Then "app01" version "1.0" is SUCCESS on exactly the distributed instances

  @extended @describe
  Scenario: DescribeDataDistResult pages by data file
    When I have pushed the data files:
      | name | version |
      | a    | 1.0     |
      | b    | 1.0     |
      | c    | 1.0     |
    And "a" version "1.0" has been pushed to every target file server
    And "b" version "1.0" has been pushed to every target file server
    And "c" version "1.0" has been pushed to every target file server
    And I distribute the data files "a, b, c" version "1.0"
    And I call DescribeDataDistResult with:
      | PageNumber | 2 |
      | PageSize   | 2 |
    Then the request succeeds
    And the dist TotalCount is 3
    And the page holds 1 dist result

  @extended @validation @strict
  Scenario: a strict mock refuses an unknown DistStrategy name (an ensmock limit) with InvalidParameter.DistStrategy
    When I distribute "app01" version "1.0" with the strategy:
      """
      {"name":"ScheduleToNowhere","parameters":{}}
      """
    Then the request fails with HTTP 400 and code "InvalidParameter.DistStrategy"

  @extended @control
  Scenario: an instance that is down fails while the others succeed
    Given the instance "{instance1}" is down
    When I push "app01" version "1.0"
    And "app01" version "1.0" has been pushed to every target file server
    And I distribute "app01" version "1.0"
    And "app01" version "1.0" has finished distributing
    Then "app01" version "1.0" is FAILED on "{instance1}" and SUCCESS on the other distributed instances
